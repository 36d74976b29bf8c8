//! Modules import downwards only: a test that reads the sources of the app (`src/`) and of xtask
//! (`xtask/src/`), collects which module names which (`crate::` and `super::` paths, test modules
//! left out) and fails on a cycle, naming it. A cycle between two modules means a third one is
//! missing below both (see ARCHITECTURE.md).
//!
//! Nodes are the top-level modules (a file `src/x.rs` or a folder `src/x/`), and, inside each
//! folder, its files against each other (`graph/draw.rs` may not import `graph/interaction.rs` if
//! that imports it back; both may use the folder's `mod.rs`). The crate root is the table of
//! contents: it declares every module, so a module that takes an item defined in the root is a
//! cycle too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source file: its module path (`["graph", "draw"]`, `["graph"]` for `graph/mod.rs`, `[]` for
/// the crate root) and its text without test modules and comments.
struct Source {
    module: Vec<String>,
    text: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/graph/draw.rs` -> `["graph", "draw"]`; `src/graph/mod.rs` -> `["graph"]`; the root -> `[]`.
fn module_of(root_dir: &Path, root_file: &str, path: &Path) -> Vec<String> {
    let relative = path.strip_prefix(root_dir).unwrap();
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    if last != "mod.rs" && last != root_file {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts
}

/// The text with comments, string and char literals blanked, and every `#[cfg(test)]` item (a
/// test module or function) removed.
fn code_of(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if let Some(raw) = rest.strip_prefix("r#\"") {
            i += 3 + raw.find("\"#").map_or(raw.len(), |e| e + 2);
            out.push_str("\"\"");
        } else if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if bytes[i] == b'\''
            && (rest.starts_with("'\\") || rest.chars().nth(2) == Some('\''))
        {
            // A char literal ('{', '\n'); a lifetime ('a) has no closing quote two chars on.
            let end = rest[1..].find('\'').map_or(rest.len(), |e| e + 2);
            i += end;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    remove_test_items(&out)
}

fn remove_test_items(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        // The item ends at the brace that closes its first block (or at a `;`, as in `mod tests;`).
        let open = item.find('{');
        let semi = item.find(';');
        let end = match (open, semi) {
            (Some(o), Some(s)) if s < o => s + 1,
            (Some(o), _) => {
                let mut depth = 0;
                let mut end = item.len();
                for (k, c) in item[o..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, Some(s)) => s + 1,
            (None, None) => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

fn read_sources(root_dir: &Path, root_file: &str) -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(root_dir, &mut files);
    files
        .iter()
        .filter(|path| {
            path.parent() != Some(root_dir)
                || path.file_name().unwrap() != "main.rs"
                || root_file == "main.rs"
        })
        .map(|path| Source {
            module: module_of(root_dir, root_file, path),
            text: code_of(&std::fs::read_to_string(path).unwrap()),
        })
        .collect()
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path that starts at `crate::` or `super::` in `code`, as segments from the crate root,
/// with `{a, b::c}` groups expanded (`crate::x::{a, b}` gives `x::a` and `x::b`).
fn paths_in(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let preceded_by_ident = i > 0 && (is_ident_char(bytes[i - 1]) || bytes[i - 1] == ':');
        let starts = |word: &str| bytes[i..].iter().take(word.len()).copied().eq(word.chars());
        let base = if !preceded_by_ident && starts("crate::") {
            i += "crate::".len();
            Some(Vec::new())
        } else if !preceded_by_ident && starts("super::") {
            i += "super::".len();
            // `super` of `graph/draw.rs` is `graph`; of `graph/mod.rs` or `scenario.rs`, the root.
            Some(module[..module.len().saturating_sub(1)].to_vec())
        } else {
            None
        };
        match base {
            Some(base) => i = parse_tree(&bytes, i, base, &mut paths),
            None => i += 1,
        }
    }
    paths
}

/// Parses a use tree at `i` (segments, or a `{...}` group) after `prefix`; returns where it ends.
fn parse_tree(
    chars: &[char],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '{' {
            i += 1;
            loop {
                while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                    i += 1;
                }
                if i >= chars.len() || chars[i] == '}' {
                    return i + 1;
                }
                i = parse_tree(chars, i, prefix.clone(), out);
            }
        }
        let start = i;
        while i < chars.len() && is_ident_char(chars[i]) {
            i += 1;
        }
        if start == i {
            // `*` or the end of the path.
            out.push(prefix);
            return i;
        }
        let segment: String = chars[start..i].iter().collect();
        if segment != "self" {
            prefix.push(segment);
        }
        if chars[i..].starts_with(&[':', ':']) {
            i += 2;
        } else {
            out.push(prefix);
            return i;
        }
    }
}

/// Items the crate root defines (not re-exports): a module naming one imports the root.
fn root_items(root: &Source) -> BTreeSet<String> {
    let mut items = BTreeSet::new();
    for line in root.text.lines() {
        let words: Vec<&str> = line
            .split(|c: char| !is_ident_char(c))
            .filter(|w| !w.is_empty())
            .collect();
        let keyword = words
            .iter()
            .position(|w| ["fn", "struct", "enum", "const", "static", "trait", "type"].contains(w));
        if let Some(k) = keyword
            && (k == 0
                || words[..k]
                    .iter()
                    .all(|w| ["pub", "crate", "async", "unsafe"].contains(w)))
            && let Some(name) = words.get(k + 1)
        {
            items.insert((*name).to_string());
        }
    }
    items
}

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The module graphs of one crate: top-level modules (the root named `crate`), and each folder's
/// files against each other.
fn module_graphs(root_dir: &Path, root_file: &str) -> Vec<(String, Graph)> {
    let sources = read_sources(root_dir, root_file);
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let root = sources
        .iter()
        .find(|s| s.module.is_empty())
        .expect("crate root");
    let defined_in_root = root_items(root);
    let mut top = Graph::new();
    let mut folders: BTreeMap<String, Graph> = BTreeMap::new();
    for module in modules.iter().filter(|m| m.len() == 1) {
        top.entry("crate".into())
            .or_default()
            .insert(module[0].clone());
        top.entry(module[0].clone()).or_default();
    }
    for source in &sources {
        let from_top = source
            .module
            .first()
            .cloned()
            .unwrap_or_else(|| "crate".into());
        for path in paths_in(&source.text, &source.module) {
            // The longest prefix of the path that is a module.
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
                .unwrap_or_default();
            let to_top = match target.first() {
                Some(first) => first.clone(),
                None if path
                    .first()
                    .is_some_and(|item| defined_in_root.contains(item)) =>
                {
                    "crate".into()
                }
                None => continue,
            };
            if to_top != from_top {
                top.entry(from_top.clone()).or_default().insert(to_top);
            }
            if source.module.len() == 2
                && target.len() >= 2
                && target[0] == source.module[0]
                && target[1] != source.module[1]
            {
                let graph = folders.entry(source.module[0].clone()).or_default();
                graph
                    .entry(source.module[1].clone())
                    .or_default()
                    .insert(target[1].clone());
            }
        }
    }
    let mut graphs = vec![("top-level modules".to_string(), top)];
    graphs.extend(
        folders
            .into_iter()
            .map(|(folder, graph)| (format!("files of {folder}/"), graph)),
    );
    graphs
}

/// A cycle in `graph`, as the path `a -> b -> ... -> a`, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                0 => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0
            && let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

fn assert_no_cycles(crate_name: &str, root_dir: &Path, root_file: &str) {
    let mut cycles = Vec::new();
    for (what, graph) in module_graphs(root_dir, root_file) {
        if let Some(cycle) = find_cycle(&graph) {
            cycles.push(format!("{crate_name}, {what}: {}", cycle.join(" -> ")));
        }
    }
    assert!(
        cycles.is_empty(),
        "modules import each other in a cycle (move what both need into a module below them):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_app_modules_import_downwards_only() {
    assert_no_cycles(
        "src/",
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "lib.rs",
    );
}

#[test]
fn the_xtask_modules_import_downwards_only() {
    assert_no_cycles(
        "xtask/src/",
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("xtask/src"),
        "main.rs",
    );
}

#[test]
fn a_cycle_is_found_and_named() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .into_iter()
        .fold(Graph::new(), |mut g, (from, to)| {
            g.entry(from.into()).or_default().insert(to.into());
            g
        });
    assert_eq!(find_cycle(&graph).unwrap().join(" -> "), "a -> b -> c -> a");
}

#[test]
fn paths_are_read_from_use_trees_and_inline_paths_but_not_from_tests_or_comments() {
    let code = code_of(
        "use crate::graph::{CanvasLayout, labels::RateLabels};\nuse super::model::GraphModel;\n\
         // crate::panels::x\nfn f(x: Res<crate::theme::Theme>) { let s = \"crate::web\"; }\n\
         #[cfg(test)]\nmod tests { use crate::scenario::X; fn g() { if true { } } }\nconst Z: u8 = 1;",
    );
    let module = vec!["graph".to_string(), "draw".to_string()];
    let paths: Vec<String> = paths_in(&code, &module)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        paths,
        [
            "graph::CanvasLayout",
            "graph::labels::RateLabels",
            "graph::model::GraphModel",
            "theme::Theme"
        ]
    );
    assert!(
        code.contains("const Z"),
        "code after a test module is kept: {code}"
    );
}
