//! `docs/src/coverage.md` maps every syllabus item (listed in `tests/syllabus.txt`) to where the
//! book teaches it. This checks that every item has exactly one row, that no row names an item
//! that does not exist, that every row says something, and that everything a row points at exists:
//! its page links (and the headings they point to), and every example (`threading/01_spawn_join`),
//! file (`crates/threading/tests/pool.rs`) and exercise (`ch3/02`) it names in backticks.
//!
//! Examples are renamed now and then; when one is, this test names each row that still uses the
//! old name, so the table can follow.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

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
    rows_of(&text)
}

/// The rows of the tables in `text` whose first cell is a syllabus id: (id, the row's last cell).
fn rows_of(text: &str) -> Vec<(String, String)> {
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
    let link = Regex::new(r"\]\(([^)#]+)(?:#([^)]*))?\)").unwrap();
    let mut problems = Vec::new();
    for capture in link.captures_iter(&text) {
        let target = &capture[1];
        if target.starts_with("http") {
            continue;
        }
        let Ok(page) = fs::read_to_string(src.join(target)) else {
            problems.push(format!("a link to {target}, which does not exist"));
            continue;
        };
        if let Some(fragment) = capture.get(2).map(|m| m.as_str())
            && !heading_ids(&page).iter().any(|id| id == fragment)
        {
            problems.push(format!(
                "a link to {target}#{fragment}, but no heading of that page has the id {fragment:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "coverage.md: {}", problems.join("\n"));
}

/// The ids mdBook gives a page's headings: the heading's text, lower case, spaces turned into
/// `-`, and everything but letters, digits, `-` and `_` left out (backticks and colons included).
fn heading_ids(page: &str) -> Vec<String> {
    let mut in_code = false;
    page.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            !in_code && line.starts_with('#')
        })
        .map(|line| {
            line.trim_start_matches('#')
                .trim()
                .chars()
                .filter_map(|c| match c {
                    c if c.is_alphanumeric() || c == '_' || c == '-' => {
                        Some(c.to_lowercase().next().unwrap_or(c))
                    }
                    c if c.is_whitespace() => Some('-'),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// What a name in backticks in a row points at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    /// `threading/01_spawn_join` (maybe with arguments after it): an example of that crate.
    Example { krate: String, name: String },
    /// `crates/threading/tests/pool.rs`, or a folder `crates/threading/compile_fail/`: a path from
    /// the workspace root.
    File(String),
    /// `ch3/02`: an exercise folder `exercises/ch3/02_*`.
    Exercise { chapter: String, number: String },
}

impl Named {
    /// `None` if the thing exists; otherwise what is missing, in words.
    fn missing(&self, root: &Path) -> Option<String> {
        match self {
            Named::Example { krate, name } => {
                let path = format!("crates/{krate}/examples/{name}.rs");
                (!root.join(&path).is_file()).then(|| {
                    format!(
                        "the example `{krate}/{name}`, but there is no {path} \
                         (renamed? list them with `ls crates/{krate}/examples`)"
                    )
                })
            }
            Named::File(path) => (!root.join(path).exists())
                .then(|| format!("the file {path}, which does not exist")),
            Named::Exercise { chapter, number } => {
                let folder = root.join("exercises").join(chapter);
                let found = fs::read_dir(&folder).ok().is_some_and(|entries| {
                    entries.filter_map(Result::ok).any(|entry| {
                        entry.path().is_dir()
                            && entry
                                .file_name()
                                .to_string_lossy()
                                .starts_with(&format!("{number}_"))
                    })
                });
                (!found).then(|| {
                    format!("the exercise `{chapter}/{number}`, but exercises/{chapter}/ has no {number}_* folder")
                })
            }
        }
    }
}

/// Every example, file and exercise named in backticks in `cell`. A backticked name with a `/`
/// that is none of the three is an error: the check must not skip what it cannot read.
fn names_in(cell: &str) -> Result<Vec<Named>, String> {
    let backticked = Regex::new(r"`([^`]+)`").unwrap();
    let example = Regex::new(r"^([a-z][a-z_-]*)/(\d{2}_[a-z0-9_]+)(?: .*)?$").unwrap();
    let exercise = Regex::new(r"^(ch\d+)/(\d{2})$").unwrap();
    let path = Regex::new(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.{},-]+)*/?$").unwrap();
    let alternatives = Regex::new(r"\{([^}]*)\}").unwrap();
    let mut names = Vec::new();
    for capture in backticked.captures_iter(cell) {
        let token = capture[1].trim();
        if !token.contains('/') {
            continue;
        }
        if let Some(c) = exercise.captures(token) {
            names.push(Named::Exercise {
                chapter: c[1].to_owned(),
                number: c[2].to_owned(),
            });
        } else if let Some(c) = example.captures(token) {
            names.push(Named::Example {
                krate: c[1].to_owned(),
                name: c[2].to_owned(),
            });
        } else if path.is_match(token)
            && (token.ends_with('/') || token.rsplit('/').next().is_some_and(|f| f.contains('.')))
        {
            // A file or, ending in `/`, a folder. `crates/x/tests/{a,b}.rs` names two files.
            match alternatives.captures(token) {
                Some(c) => {
                    let whole = c.get(0).unwrap();
                    for choice in c[1].split(',') {
                        names.push(Named::File(format!(
                            "{}{}{}",
                            &token[..whole.start()],
                            choice.trim(),
                            &token[whole.end()..]
                        )));
                    }
                }
                None => names.push(Named::File(token.to_owned())),
            }
        } else {
            return Err(format!(
                "cannot tell what `{token}` names (an example is `crate/NN_slug`, an exercise \
                 `chN/NN`, a file a path from the workspace root)"
            ));
        }
    }
    Ok(names)
}

#[test]
fn every_example_file_and_exercise_a_row_names_exists() {
    let root = workspace_root();
    let mut problems = Vec::new();
    for (id, cell) in coverage_rows() {
        match names_in(&cell) {
            Err(problem) => problems.push(format!("row {id}: {problem}")),
            Ok(names) => problems.extend(
                names
                    .iter()
                    .filter_map(|named| named.missing(&root))
                    .map(|missing| format!("row {id} names {missing}")),
            ),
        }
    }
    assert!(
        problems.is_empty(),
        "docs/src/coverage.md:\n{}",
        problems.join("\n")
    );
}

/// The check above can fail: a row that names things that do not exist is reported, each by name.
#[test]
fn a_row_naming_what_does_not_exist_is_reported() {
    let root = workspace_root();
    let cell = "example `threading/99_nowhere --fast`; tests `crates/threading/tests/{pool,nowhere}.rs`; \
                exercises `ch3/01`, `ch3/99`";
    let names = names_in(cell).expect("every name in the cell is of a known kind");
    assert_eq!(
        names,
        [
            Named::Example {
                krate: "threading".into(),
                name: "99_nowhere".into()
            },
            Named::File("crates/threading/tests/pool.rs".into()),
            Named::File("crates/threading/tests/nowhere.rs".into()),
            Named::Exercise {
                chapter: "ch3".into(),
                number: "01".into()
            },
            Named::Exercise {
                chapter: "ch3".into(),
                number: "99".into()
            },
        ]
    );
    let missing: Vec<String> = names.iter().filter_map(|n| n.missing(&root)).collect();
    assert_eq!(
        missing.len(),
        3,
        "the made-up names, and only them: {missing:#?}"
    );
    assert!(missing[0].contains("crates/threading/examples/99_nowhere.rs"));
    assert!(missing[1].contains("crates/threading/tests/nowhere.rs"));
    assert!(missing[2].contains("ch3/99"));
    assert!(
        names_in("a name `threading/not a name/x`").is_err(),
        "an unreadable name is an error, not skipped"
    );
}

#[test]
fn heading_ids_are_mdbooks() {
    let ids = heading_ids(
        "# Title\n```sh\n# not a heading\n```\n## `JoinableQueue`: waiting until every task is done\n",
    );
    assert_eq!(
        ids,
        ["title", "joinablequeue-waiting-until-every-task-is-done"]
    );
}
