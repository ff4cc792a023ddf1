//! The book stays in sync with the code: every `{{#include}}` names a file and an anchor that
//! exist, every page in `SUMMARY.md` exists, and every example is included by some page.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;
use workspace_tests::{examples, markdown_files, workspace_root};

/// Examples that no page includes yet. This list only shrinks: write the example up, then remove
/// it from here.
const NOT_YET_WRITTEN_UP: &[&str] = &[];

/// One `{{#include path:anchor}}` found in a page.
struct Include {
    page: PathBuf,
    target: PathBuf,
    selector: Option<String>,
}

fn includes() -> Vec<Include> {
    let pattern = Regex::new(r"\{\{#(?:include|rustdoc_include)\s+([^}\s]+)\s*\}\}").unwrap();
    let mut found = Vec::new();
    for page in markdown_files(&workspace_root().join("docs/src")) {
        let text = fs::read_to_string(&page).unwrap();
        for capture in pattern.captures_iter(&text) {
            let spec = &capture[1];
            let (file, selector) = match spec.split_once(':') {
                Some((file, rest)) => (file, Some(rest.to_owned())),
                None => (spec, None),
            };
            found.push(Include {
                target: page.parent().unwrap().join(file),
                page: page.clone(),
                selector,
            });
        }
    }
    found
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_include_resolves_to_a_file_and_an_anchor() {
    let mut problems = Vec::new();
    for include in includes() {
        let page = relative(&include.page);
        let Ok(text) = fs::read_to_string(&include.target) else {
            problems.push(format!("{page}: no file {}", include.target.display()));
            continue;
        };
        let Some(selector) = include.selector else {
            continue;
        };
        if selector
            .split(':')
            .all(|part| part.is_empty() || part.parse::<usize>().is_ok())
        {
            let lines = text.lines().count();
            for part in selector.split(':').filter(|p| !p.is_empty()) {
                let line: usize = part.parse().unwrap();
                if line > lines {
                    problems.push(format!(
                        "{page}: line {line} is past the end of {} ({lines} lines)",
                        relative(&include.target)
                    ));
                }
            }
            continue;
        }
        for marker in [
            format!("ANCHOR: {selector}"),
            format!("ANCHOR_END: {selector}"),
        ] {
            let present = text.lines().any(|line| {
                line.trim_start()
                    .trim_start_matches("//")
                    .trim_start_matches('#')
                    .trim()
                    == marker
            });
            if !present {
                problems.push(format!(
                    "{page}: {} has no `{marker}` line",
                    relative(&include.target)
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken includes:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_page_in_the_summary_exists() {
    let src = workspace_root().join("docs/src");
    let summary = fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let link = Regex::new(r"\]\(([^)]+)\)").unwrap();
    let missing: Vec<String> = link
        .captures_iter(&summary)
        .map(|c| c[1].to_owned())
        .filter(|target| !src.join(target).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "SUMMARY.md links to missing pages: {missing:?}"
    );
}

#[test]
fn every_example_is_included_by_some_page() {
    let included: BTreeSet<PathBuf> = includes()
        .into_iter()
        .filter_map(|include| include.target.canonicalize().ok())
        .collect();
    let mut not_written_up = Vec::new();
    let mut stale_allowances = Vec::new();
    for example in examples() {
        let example = example.unwrap_or_else(|problem| panic!("{problem}"));
        let id = example.id();
        let is_included = included.contains(&example.path.canonicalize().unwrap());
        let allowed = NOT_YET_WRITTEN_UP.contains(&id.as_str());
        if !is_included && !allowed {
            not_written_up.push(id);
        } else if is_included && allowed {
            stale_allowances.push(id);
        }
    }
    assert!(
        not_written_up.is_empty(),
        "examples that no book page includes (include them with an anchor, see CONTRIBUTING.md): {not_written_up:?}"
    );
    assert!(
        stale_allowances.is_empty(),
        "these examples are written up now; remove them from NOT_YET_WRITTEN_UP: {stale_allowances:?}"
    );
}

#[test]
fn every_example_header_is_well_formed() {
    let problems: Vec<String> = examples().into_iter().filter_map(Result::err).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_exercise_is_listed_on_the_exercises_page() {
    let root = workspace_root();
    let page = fs::read_to_string(root.join("docs/src/exercises.md")).unwrap();
    let mut missing = Vec::new();
    for chapter in fs::read_dir(root.join("exercises"))
        .unwrap()
        .filter_map(Result::ok)
    {
        let chapter_name = chapter.file_name().to_string_lossy().into_owned();
        if !chapter_name.starts_with("ch") || !chapter.path().is_dir() {
            continue;
        }
        for exercise in fs::read_dir(chapter.path()).unwrap().filter_map(Result::ok) {
            let folder = format!(
                "exercises/{chapter_name}/{}",
                exercise.file_name().to_string_lossy()
            );
            if exercise.path().is_dir() && !page.contains(&format!("`{folder}`")) {
                missing.push(folder);
            }
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "docs/src/exercises.md does not list {missing:?} in its table"
    );
}
