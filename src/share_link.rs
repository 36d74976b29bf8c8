//! Share links: the page's URL query carries what a teacher puts on a slide (`?lesson=syscall&
//! step=3&theme=projector`), so opening the link restores the lesson at that step, the speed,
//! the theme, the selected process, the capability view and the bottom panel's tab.
//!
//! [`parse_share_query`] and [`ShareState::to_query`] are pure and unit-tested; only
//! [`page_query`], [`replace_page_query`] and [`copy_to_clipboard`] (wasm) touch
//! `window.location`, `history` and the clipboard. A bad parameter is refused as a whole link:
//! the notice names the parameter and the page opens in its default state.

/// Everything a link can carry. `None` leaves the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShareState {
    pub scenario: Option<String>,
    pub lesson: Option<String>,
    /// 1-based, as people count steps.
    pub step: Option<usize>,
    pub speed: Option<LinkSpeed>,
    pub theme: Option<LinkTheme>,
    pub select: Option<u32>,
    pub capview: Option<bool>,
    /// The bottom panel's tab: terminal, traffic, capabilities or endpoints.
    pub tab: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkSpeed {
    Full,
    Quarter,
    Sixteenth,
    Paused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkTheme {
    Standard,
    Projector,
}

/// The bottom panel's tabs, as written in a link.
pub const LINK_TABS: [&str; 5] = [
    "terminal",
    "traffic",
    "capabilities",
    "endpoints",
    "timeline",
];

impl LinkSpeed {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkSpeed::Full => "1",
            LinkSpeed::Quarter => "1/4",
            LinkSpeed::Sixteenth => "1/16",
            LinkSpeed::Paused => "paused",
        }
    }
}

/// A refused link: which parameter, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkError {
    pub parameter: String,
    pub message: String,
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "link parameter `{}`: {}; the page opened in its default state",
            self.parameter, self.message
        )
    }
}

/// Parses `?a=b&c=d` (with or without the `?`). An empty query is the default state.
pub fn parse_share_query(
    query: &str,
    lessons: &[&str],
    scenarios: &[&str],
) -> Result<ShareState, LinkError> {
    let mut state = ShareState::default();
    let query = query.strip_prefix('?').unwrap_or(query);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(raw).replace('+', " ");
        let value = value.trim();
        let error = |message: String| LinkError {
            parameter: key.to_string(),
            message,
        };
        match key {
            "lesson" => {
                if !lessons.contains(&value) {
                    return Err(error(format!(
                        "no lesson {value:?}; the lessons are {}",
                        lessons.join(", ")
                    )));
                }
                state.lesson = Some(value.to_string());
            }
            "scenario" => {
                if !scenarios.contains(&value) {
                    return Err(error(format!(
                        "no scenario {value:?}; the scenarios are {}",
                        scenarios.join(", ")
                    )));
                }
                state.scenario = Some(value.to_string());
            }
            "step" => match value.parse::<usize>() {
                Ok(n) if n >= 1 => state.step = Some(n),
                _ => {
                    return Err(error(format!(
                        "{value:?} is not a step number (1 is the first step)"
                    )));
                }
            },
            "speed" => {
                state.speed = Some(match value {
                    "1" | "full" => LinkSpeed::Full,
                    "1/4" | "4" => LinkSpeed::Quarter,
                    "1/16" | "16" => LinkSpeed::Sixteenth,
                    "paused" | "0" => LinkSpeed::Paused,
                    _ => {
                        return Err(error(format!(
                            "{value:?} is not a speed; use 1, 1/4, 1/16 or paused"
                        )));
                    }
                })
            }
            "theme" => {
                state.theme = Some(match value {
                    "standard" => LinkTheme::Standard,
                    "projector" => LinkTheme::Projector,
                    _ => {
                        return Err(error(format!(
                            "{value:?} is not a theme; use standard or projector"
                        )));
                    }
                })
            }
            "select" => match value.parse::<u32>() {
                Ok(pid) if pid >= 1 => state.select = Some(pid),
                _ => return Err(error(format!("{value:?} is not a pid (1, 2, 3, ...)"))),
            },
            "capview" => {
                state.capview = Some(match value {
                    "on" | "1" | "true" => true,
                    "off" | "0" | "false" => false,
                    _ => return Err(error(format!("{value:?} is not on or off"))),
                })
            }
            "tab" => {
                if !LINK_TABS.contains(&value) {
                    return Err(error(format!(
                        "{value:?} is not a tab; use one of {}",
                        LINK_TABS.join(", ")
                    )));
                }
                state.tab = Some(value.to_string());
            }
            _ => {
                return Err(error(
                    "unknown parameter; links take lesson, step, scenario, speed, theme, select, capview and tab".into(),
                ));
            }
        }
    }
    if state.step.is_some() && state.lesson.is_none() {
        return Err(LinkError {
            parameter: "step".into(),
            message: "a step needs a lesson (add lesson=...)".into(),
        });
    }
    Ok(state)
}

impl ShareState {
    /// The query (`?lesson=syscall&step=3&theme=projector`), parameters in a fixed order.
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(lesson) = &self.lesson {
            parts.push(format!("lesson={}", percent_encode(lesson)));
            if let Some(step) = self.step {
                parts.push(format!("step={step}"));
            }
        } else if let Some(scenario) = &self.scenario {
            parts.push(format!("scenario={}", percent_encode(scenario)));
        }
        if let Some(speed) = self.speed {
            parts.push(format!("speed={}", speed.as_str()));
        }
        if let Some(theme) = self.theme {
            parts.push(format!(
                "theme={}",
                match theme {
                    LinkTheme::Standard => "standard",
                    LinkTheme::Projector => "projector",
                }
            ));
        }
        if let Some(pid) = self.select {
            parts.push(format!("select={pid}"));
        }
        if let Some(on) = self.capview {
            parts.push(format!("capview={}", if on { "on" } else { "off" }));
        }
        if let Some(tab) = &self.tab {
            parts.push(format!("tab={tab}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `%2F` → `/`; a malformed escape is kept as written (the value is then refused by name).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The page's query string (`?...`), empty natively.
pub fn page_query() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default()
    }
    #[cfg(not(target_arch = "wasm32"))]
    String::new()
}

/// The page's address with `query` in place of its query, for the link a teacher copies
/// (natively: the query alone).
pub fn page_link(query: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let location = web_sys::window().map(|w| w.location());
        let base = location
            .and_then(|l| Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?)))
            .unwrap_or_default();
        format!("{base}{query}")
    }
    #[cfg(not(target_arch = "wasm32"))]
    query.to_string()
}

/// Puts `query` in the address bar without reloading (so a reload keeps the state).
pub fn replace_page_query(query: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use js_sys::{Function, Reflect};
        use wasm_bindgen::{JsCast, JsValue};
        // Through Reflect: the `History` binding is not among the app's web-sys features.
        let replace = || -> Result<(), JsValue> {
            let window = web_sys::window().ok_or("no window")?;
            let history = Reflect::get(&window, &"history".into())?;
            let replace: Function = Reflect::get(&history, &"replaceState".into())?.dyn_into()?;
            let url = page_link(query);
            replace.call3(&history, &JsValue::NULL, &"".into(), &url.into())?;
            Ok(())
        };
        if let Err(e) = replace() {
            bevy::log::warn!("could not update the address bar: {e:?}");
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = query;
}

/// Writes `text` to the clipboard (`navigator.clipboard.writeText`); the promise's refusal
/// (headless browsers, no permission) is logged: the caller shows the link in a toast anyway.
pub fn copy_to_clipboard(text: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use js_sys::{Function, Reflect};
        use wasm_bindgen::{JsCast, JsValue};
        let write = || -> Result<(), JsValue> {
            let window = web_sys::window().ok_or("no window")?;
            let navigator = Reflect::get(&window, &"navigator".into())?;
            let clipboard = Reflect::get(&navigator, &"clipboard".into())?;
            if clipboard.is_undefined() {
                return Err("no clipboard (the page is not a secure context)".into());
            }
            let write_text: Function = Reflect::get(&clipboard, &"writeText".into())?.dyn_into()?;
            let promise: js_sys::Promise = write_text
                .call1(&clipboard, &JsValue::from_str(text))?
                .dyn_into()?;
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = wasm_bindgen_futures::JsFuture::from(promise).await {
                    bevy::log::warn!("the clipboard refused the link: {e:?}");
                }
            });
            Ok(())
        };
        if let Err(e) = write() {
            bevy::log::warn!("could not copy the link: {e:?}");
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = text;
}

#[cfg(test)]
mod tests {
    use super::*;

    const LESSONS: [&str; 2] = ["syscall", "faults"];
    const SCENARIOS: [&str; 2] = ["default", "memory"];

    fn parse(q: &str) -> Result<ShareState, LinkError> {
        parse_share_query(q, &LESSONS, &SCENARIOS)
    }

    #[test]
    fn a_full_link_round_trips() {
        let state = parse("?lesson=syscall&step=3&theme=projector&speed=1/16&select=4&capview=on&tab=capabilities").unwrap();
        assert_eq!(state.lesson.as_deref(), Some("syscall"));
        assert_eq!(state.step, Some(3));
        assert_eq!(state.theme, Some(LinkTheme::Projector));
        assert_eq!(state.speed, Some(LinkSpeed::Sixteenth));
        assert_eq!(state.select, Some(4));
        assert_eq!(state.capview, Some(true));
        assert_eq!(state.tab.as_deref(), Some("capabilities"));
        assert_eq!(parse(&state.to_query()).unwrap(), state);
        assert_eq!(parse("").unwrap(), ShareState::default());
        assert_eq!(ShareState::default().to_query(), "");
        let encoded = parse("speed=1%2F4&scenario=memory").unwrap();
        assert_eq!(encoded.speed, Some(LinkSpeed::Quarter));
        assert_eq!(encoded.to_query(), "?scenario=memory&speed=1/4");
    }

    #[test]
    fn bad_parameters_are_named() {
        for (query, parameter, says) in [
            ("lesson=nope", "lesson", "syscall, faults"),
            ("lesson=syscall&step=0", "step", "1 is the first"),
            ("lesson=syscall&step=x", "step", "not a step"),
            ("step=2", "step", "needs a lesson"),
            ("speed=fast", "speed", "1/16"),
            ("theme=dark", "theme", "projector"),
            ("select=-1", "select", "pid"),
            ("capview=maybe", "capview", "on or off"),
            ("tab=logs", "tab", "endpoints"),
            ("scenario=zzz", "scenario", "default, memory"),
            ("colour=red", "colour", "unknown parameter"),
        ] {
            let e = parse(query).unwrap_err();
            assert_eq!(e.parameter, parameter, "{query}");
            assert!(e.to_string().contains(says), "{query}: {e}");
            assert!(e.to_string().contains("default state"), "{e}");
        }
    }
}
