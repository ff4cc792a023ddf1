//! The book stays in sync with the code: every `{{#include}}` names a file and an anchor that
//! exist, every page in `SUMMARY.md` exists, and every example is included by some page. And the
//! code the book shows fits it: every included line within [`MAX_INCLUDED_COLUMNS`], every
//! listing within [`MAX_LISTING_LINES`].

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;
use workspace_tests::{examples, markdown_files, workspace_root};

/// Examples that no page includes yet. This list only shrinks: write the example up, then remove
/// it from here.
const NOT_YET_WRITTEN_UP: &[&str] = &[];

/// The widest line a page may include. At 1280 px with the sidebar open, the book's code blocks
/// show 95 columns before they scroll (`docs/theme/wrap.css` sets the width); the margin is for
/// other fonts. `rustfmt.toml` in `crates/*/src` keeps code within it; comments are wrapped by
/// hand.
const MAX_INCLUDED_COLUMNS: usize = 90;

/// The longest a listing may be, its header included: one idea per listing.
const MAX_LISTING_LINES: usize = 150;

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

/// The lines an include shows: the anchored part, the given line range, or the whole file.
fn shown_lines(text: &str, selector: Option<&str>) -> Vec<(usize, String)> {
    let numbered = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.to_owned()));
    let Some(selector) = selector else {
        return numbered.collect();
    };
    if let Some((from, to)) = selector.split_once(':')
        && from.chars().chain(to.chars()).all(|c| c.is_ascii_digit())
    {
        let from: usize = from.parse().unwrap_or(1);
        let to: usize = to.parse().unwrap_or(usize::MAX);
        return numbered.filter(|(n, _)| (from..=to).contains(n)).collect();
    }
    let is_marker = |line: &str, marker: &str| {
        line.trim_start()
            .trim_start_matches("//")
            .trim_start_matches('#')
            .trim()
            == marker
    };
    let (start, end) = (
        format!("ANCHOR: {selector}"),
        format!("ANCHOR_END: {selector}"),
    );
    let mut inside = false;
    let mut shown = Vec::new();
    for (n, line) in numbered {
        if is_marker(&line, &start) {
            inside = true;
        } else if is_marker(&line, &end) {
            inside = false;
        } else if inside && !line.contains("ANCHOR") {
            shown.push((n, line));
        }
    }
    shown
}

#[test]
fn every_included_line_fits_the_page() {
    let mut too_wide = BTreeSet::new();
    for include in includes() {
        let Ok(text) = fs::read_to_string(&include.target) else {
            continue; // reported by every_include_resolves_to_a_file_and_an_anchor
        };
        for (n, line) in shown_lines(&text, include.selector.as_deref()) {
            let columns = line.chars().count();
            if columns > MAX_INCLUDED_COLUMNS {
                let file = include
                    .target
                    .canonicalize()
                    .unwrap_or(include.target.clone());
                too_wide.insert(format!("{}:{n} ({columns} columns)", relative(&file)));
            }
        }
    }
    assert!(
        too_wide.is_empty(),
        "lines the book shows are wider than {MAX_INCLUDED_COLUMNS} columns, so they scroll:\n{}",
        too_wide.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_listing_is_short_enough_to_show_one_idea() {
    let too_long: Vec<String> = examples()
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|example| {
            let lines = fs::read_to_string(&example.path).ok()?.lines().count();
            (lines > MAX_LISTING_LINES).then(|| format!("{} ({lines} lines)", example.id()))
        })
        .collect();
    assert!(
        too_long.is_empty(),
        "listings over {MAX_LISTING_LINES} lines (split them by idea): {too_long:?}"
    );
}

#[test]
fn shown_lines_follow_anchors_and_ranges() {
    let text = "a\n// ANCHOR: x\nb\n// ANCHOR_END: x\nc";
    let lines = |selector| -> Vec<usize> {
        shown_lines(text, selector)
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    };
    assert_eq!(lines(Some("x")), vec![3]);
    assert_eq!(lines(Some("1:2")), vec![1, 2]);
    assert_eq!(lines(Some("4:")), vec![4, 5]);
    assert_eq!(lines(None), vec![1, 2, 3, 4, 5]);
}
