//! Property-based fuzzing of the scenario loader (`parse_scenario`): random bytes and mutations
//! of the shipped scenario files. Nothing may panic; a syntax error must carry a line and column
//! inside the text. Case counts: see `orbital_supervisor::testing::fuzz`.

use orbital_playground::scenario::{ScenarioError, parse_scenario};
use orbital_supervisor::fuzz_check as check;
use orbital_supervisor::testing::fuzz::{
    executed, finish, mutate, mutation, position_inside, runner,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn check_scenario(bytes: &[u8]) -> Result<(), TestCaseError> {
    executed(1);
    match parse_scenario(bytes) {
        Ok(s) => {
            check!(
                s.processes.iter().all(|p| !p.program.trim().is_empty()),
                "empty program name accepted"
            );
            let _ = s.intents();
        }
        Err(ScenarioError::Parse {
            line,
            column,
            message,
        }) => {
            check!(
                position_inside(bytes, line, column),
                "parse error at {line}:{column} outside the text: {message}"
            );
            check!(!message.is_empty(), "a parse error without a message");
        }
        Err(ScenarioError::Invalid(why)) => {
            check!(!why.is_empty(), "an invalid scenario without a reason")
        }
        Err(ScenarioError::Io(e)) => {
            return Err(TestCaseError::fail(format!(
                "parsing bytes gave an I/O error: {e}"
            )));
        }
    }
    Ok(())
}

fn scenario_files() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/scenarios");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "ron"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 2, "no scenario files found in {dir}");
    files
}

#[test]
fn fuzz_scenario_loader_random_bytes_and_mutations() {
    let files = scenario_files();
    let count = files.len();
    // One value type for both cases: random bytes are (usize::MAX, no mutations, bytes).
    let strategy = prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..400).prop_map(|b| (usize::MAX, Vec::new(), b)),
        4 => (0..count, prop::collection::vec(mutation(), 1..8)).prop_map(|(i, m)| (i, m, Vec::new())),
    ];
    let result = runner().run(&strategy, |(i, mutations, bytes)| {
        if i == usize::MAX {
            check_scenario(&bytes)
        } else {
            check_scenario(&mutate(&files[i].1, &mutations))
        }
    });
    finish("fuzz_scenario_loader", "scenarios parsed", result);
}

#[test]
fn every_shipped_scenario_loads_and_the_broken_one_points_at_its_error() {
    for (name, bytes) in scenario_files() {
        match (name.as_str(), parse_scenario(&bytes)) {
            (
                "broken.ron",
                Err(ScenarioError::Parse {
                    line,
                    column,
                    message,
                }),
            ) => {
                assert!(
                    position_inside(&bytes, line, column),
                    "broken.ron: {line}:{column} {message}"
                );
                println!("broken.ron: line {line}, column {column}: {message}");
            }
            ("broken.ron", other) => {
                panic!("broken.ron must be a parse error with a position: {other:?}")
            }
            (_, Ok(_)) => {}
            (_, Err(e)) => panic!("{name}: {e}"),
        }
    }
}
