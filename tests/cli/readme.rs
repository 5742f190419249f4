//! Checks that the README's tables of client, server and proxy steps are the ones the step registry renders.

use crate::support::root;

/// Returns the `index`-th table of steps in the README (header included), one line per row.
fn readme_table(readme: &str, index: usize) -> String {
    let header = "| step | example | meaning |";
    let separator = format!("\n{header}\n");
    let mut tables = readme.split(&separator).skip(1);
    let rest = tables
        .nth(index)
        .unwrap_or_else(|| panic!("README.md has no table of steps number {}", index + 1));
    let rows: Vec<&str> = rest.lines().take_while(|l| l.starts_with('|')).collect();
    format!("{header}\n{}\n", rows.join("\n"))
}

#[test]
fn readme_step_tables_match_the_registry() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("a readable README.md");
    let tables = [
        ("client steps", tcprun::scenario::readme_step_table(false)),
        ("server steps", tcprun::scenario::readme_step_table(true)),
        ("proxy steps", tcprun::scenario::readme_proxy_step_table()),
    ];
    for (index, (what, rendered)) in tables.into_iter().enumerate() {
        let written = readme_table(&readme, index);
        assert!(
            written == rendered,
            "README.md's table of {what} differs from the step registry.\n\
             The registry (src/scenario/step_defs/) is the source: fix the entry there,\n\
             or replace the README's table with this one:\n\n{rendered}\n\
             README.md has:\n\n{written}"
        );
    }
}
