//! `docs/src/coverage.md` maps every syllabus item (listed in `tests/syllabus.txt`) to where the
//! book teaches it. This checks that every item has exactly one row, that no row names an item
//! that does not exist, that every row says something, and that its page links resolve.

use std::collections::BTreeMap;
use std::fs;

use regex::Regex;
use workspace_tests::workspace_root;

/// The syllabus items: id → name.
fn syllabus() -> BTreeMap<String, String> {
    let text = fs::read_to_string(workspace_root().join("tests/syllabus.txt")).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (id, name) = line
                .split_once("  ")
                .unwrap_or_else(|| panic!("syllabus.txt: no two-space separator in {line:?}"));
            (id.trim().to_owned(), name.trim().to_owned())
        })
        .collect()
}

/// The rows of coverage.md's tables: (id, the row's last cell).
fn coverage_rows() -> Vec<(String, String)> {
    let text = fs::read_to_string(workspace_root().join("docs/src/coverage.md")).unwrap();
    let id = Regex::new(r"^\d+(\.\d+)+$").unwrap();
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .strip_prefix('|')?
                .split('|')
                .map(str::trim)
                .collect();
            let first = *cells.first()?;
            id.is_match(first).then(|| {
                let last = cells
                    .iter()
                    .rev()
                    .find(|c| !c.is_empty())
                    .copied()
                    .unwrap_or("");
                (first.to_owned(), last.to_owned())
            })
        })
        .collect()
}

#[test]
fn every_syllabus_item_has_exactly_one_row() {
    let items = syllabus();
    let rows = coverage_rows();
    let mut problems = Vec::new();
    for id in items.keys() {
        match rows.iter().filter(|(row, _)| row == id).count() {
            1 => {}
            0 => problems.push(format!("no row for {id} ({})", items[id])),
            n => problems.push(format!("{n} rows for {id}")),
        }
    }
    for (row, _) in &rows {
        if !items.contains_key(row) {
            problems.push(format!(
                "a row for {row}, which is not in tests/syllabus.txt"
            ));
        }
    }
    assert!(problems.is_empty(), "coverage.md:\n{}", problems.join("\n"));
}

#[test]
fn every_row_says_where_or_not_yet() {
    let empty: Vec<String> = coverage_rows()
        .into_iter()
        .filter(|(_, where_taught)| where_taught.len() < 3)
        .map(|(id, _)| id)
        .collect();
    assert!(
        empty.is_empty(),
        "rows with nothing in their last cell: {empty:?}"
    );
}

#[test]
fn every_link_in_coverage_resolves() {
    let src = workspace_root().join("docs/src");
    let text = fs::read_to_string(src.join("coverage.md")).unwrap();
    let link = Regex::new(r"\]\(([^)#]+)(#[^)]*)?\)").unwrap();
    let missing: Vec<String> = link
        .captures_iter(&text)
        .map(|c| c[1].to_owned())
        .filter(|target| !target.starts_with("http") && !src.join(target).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "coverage.md links to missing files: {missing:?}"
    );
}
