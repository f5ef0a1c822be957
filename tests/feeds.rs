//! The public feeds (issue 20, deliverable 2): `/index` (index.golang.org's form) and
//! `/catalog` (Athens' form) page through a store of public and private modules while fills
//! run: private modules never appear, and no version is skipped or repeated across pages.

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use crate::support::app;
use crate::support::git::GitWorld;
use crate::support::node::TestNode;

const PUBLIC: usize = 12;
const PRIVATE: usize = 4;

fn public(i: usize) -> String {
    format!("example.org/pub{i}.git")
}

fn private(i: usize) -> String {
    format!("example.org/sec{i}.git")
}

fn fill(node: &TestNode, module: &str) -> Result<()> {
    let answer = node.get(&format!("/{module}/@v/v1.0.0.zip"))?;
    ensure!(answer.status == 200, "filling {module}: {}", answer.status);
    Ok(())
}

/// One `/index` page: (Path@Version, Timestamp) per line.
fn index_page(node: &TestNode, since: &str) -> Result<Vec<(String, String)>> {
    let answer = node.get(&format!("/index?since={since}&limit=3"))?;
    ensure!(answer.status == 200, "/index answered {}", answer.status);
    let mut lines = Vec::new();
    for line in answer.text().lines() {
        let value: Value = serde_json::from_str(line).with_context(|| line.to_owned())?;
        let at = format!(
            "{}@{}",
            value["Path"].as_str().unwrap_or(""),
            value["Version"].as_str().unwrap_or("")
        );
        lines.push((at, value["Timestamp"].as_str().unwrap_or("").to_owned()));
    }
    Ok(lines)
}

/// Pages `/index` from `since` to its end as a client does (the next `since` is the last
/// `Timestamp`; the line that repeats is dropped); appends to `seen`, returns the new `since`.
fn follow_index(node: &TestNode, since: &str, seen: &mut Vec<(String, String)>) -> Result<String> {
    let mut since = since.to_owned();
    loop {
        let mut page = index_page(node, &since)?;
        if let (Some(first), Some(last)) = (page.first(), seen.last())
            && first == last
        {
            page.remove(0);
        }
        let Some((_, timestamp)) = page.last() else {
            return Ok(since);
        };
        since = timestamp.clone();
        seen.extend(page);
    }
}

/// One full pass through `/catalog` (from no token until `next` is absent).
fn catalog_pass(node: &TestNode) -> Result<Vec<String>> {
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let answer = node.get(&format!("/catalog?token={token}&pagesize=2"))?;
        ensure!(answer.status == 200, "/catalog answered {}", answer.status);
        let body: Value = serde_json::from_slice(&answer.body)?;
        for module in body["modules"].as_array().context("modules")? {
            seen.push(format!(
                "{}@{}",
                module["module"].as_str().unwrap_or(""),
                module["version"].as_str().unwrap_or("")
            ));
        }
        match body.get("next").and_then(Value::as_str) {
            Some(next) => token = next.to_owned(),
            None => return Ok(seen),
        }
    }
}

fn no_duplicates(what: &str, items: &[String]) -> Result<BTreeSet<String>> {
    let set: BTreeSet<String> = items.iter().cloned().collect();
    ensure!(
        set.len() == items.len(),
        "{what} repeats a version: {items:?}"
    );
    ensure!(
        !items.iter().any(|item| item.contains("/sec")),
        "{what} shows a private module: {items:?}"
    );
    Ok(set)
}

#[test]
fn index_and_catalog_page_public_versions_once_while_fills_run() -> Result<()> {
    let world = GitWorld::new()?;
    for i in 0..PUBLIC {
        app::random_module(&world, &format!("pub{i}"), 512)?;
    }
    for i in 0..PRIVATE {
        app::random_module(&world, &format!("sec{i}"), 512)?;
    }
    let node = app::node_options(&world)
        .args(["--private", "example.org/sec*"])
        .start()?;
    for i in 0..3 {
        fill(&node, &public(i))?;
    }
    fill(&node, &private(0))?;

    let mut index_seen = Vec::new();
    let mut since = String::new();
    let mut passes = Vec::new();
    thread::scope(|scope| -> Result<()> {
        let filler = scope.spawn(|| -> Result<()> {
            for i in 3..PUBLIC {
                fill(&node, &public(i))?;
                if i % 3 == 0 {
                    fill(&node, &private(i / 3))?;
                }
            }
            Ok(())
        });
        while !filler.is_finished() {
            since = follow_index(&node, &since, &mut index_seen)?;
            let before: BTreeSet<String> = index_seen.iter().map(|(at, _)| at.clone()).collect();
            let pass = catalog_pass(&node)?;
            let pass_set = no_duplicates("a catalog pass", &pass)?;
            // Everything the index showed before this pass began is in the pass: no gaps.
            ensure!(
                before.is_subset(&pass_set),
                "a catalog pass missed versions: {:?}",
                before.difference(&pass_set).collect::<Vec<_>>()
            );
            passes.push(pass.len());
            thread::sleep(Duration::from_millis(50));
        }
        filler
            .join()
            .map_err(|_| anyhow::anyhow!("the filler panicked"))?
    })?;
    follow_index(&node, &since, &mut index_seen)?;

    let expected: BTreeSet<String> = (0..PUBLIC)
        .map(|i| format!("{}@v1.0.0", public(i)))
        .collect();
    let index_items: Vec<String> = index_seen.iter().map(|(at, _)| at.clone()).collect();
    let index_set = no_duplicates("/index", &index_items)?;
    ensure!(index_set == expected, "/index showed {index_set:?}");
    let timestamps: Vec<&String> = index_seen.iter().map(|(_, at)| at).collect();
    ensure!(
        timestamps.windows(2).all(|w| w[0] < w[1]),
        "/index timestamps do not grow: {timestamps:?}"
    );
    let last_pass = catalog_pass(&node)?;
    ensure!(
        no_duplicates("/catalog", &last_pass)? == expected,
        "/catalog: {last_pass:?}"
    );
    println!(
        "{} catalog passes while filling, sizes {passes:?}",
        passes.len()
    );

    let bad = node.get("/index?since=yesterday")?;
    ensure!(bad.status == 400, "a bad since answered {}", bad.status);
    let bad = node.get("/catalog?token=x")?;
    ensure!(bad.status == 400, "a bad token answered {}", bad.status);
    Ok(())
}
