//! The checks of exercise 2.9, run against the stub, the solution and the reader's attempt alike.

use multiprocessing::pool::Pool;

use super::imp::{self, Report};

/// Panics, with a message saying what was expected, unless the code under test is right.
pub fn check() {
    let pool = Pool::new(2).expect("the check can start a pool");
    every_item_succeeds(&pool);
    failures_keep_their_item_and_message(&pool);
    a_closed_pool_is_an_error();
}

/// The cube of `x`, except that multiples of 7 are refused with a panic.
fn picky_cube(x: u64) -> u64 {
    assert!(!x.is_multiple_of(7), "refusing {x}");
    x * x * x
}

fn every_item_succeeds(pool: &Pool) {
    let items: Vec<u64> = vec![1, 2, 3, 4, 5];
    let expected = Report {
        values: items.iter().map(|&x| (x, x * x * x)).collect(),
        failures: Vec::new(),
    };
    let got = imp::map_report(pool, picky_cube, items).expect("the pool takes the work");
    assert_eq!(got, expected, "five cubes, no failures");
}

fn failures_keep_their_item_and_message(pool: &Pool) {
    let items: Vec<u64> = (1..=30).collect();
    let got = imp::map_report(pool, picky_cube, items.clone()).expect("the pool takes the work");
    let values: Vec<(u64, u64)> = items
        .iter()
        .filter(|x| !x.is_multiple_of(7))
        .map(|&x| (x, x * x * x))
        .collect();
    let failures: Vec<(u64, String)> = items
        .iter()
        .filter(|x| x.is_multiple_of(7))
        .map(|&x| (x, format!("refusing {x}")))
        .collect();
    assert_eq!(
        got.values, values,
        "expected the cube of every item that is not a multiple of 7, in input order"
    );
    assert_eq!(
        got.failures, failures,
        "expected (item, panic message) for 7, 14, 21 and 28, in input order"
    );
}

fn a_closed_pool_is_an_error() {
    let pool = Pool::new(1).expect("the check can start a pool");
    pool.close();
    let got = imp::map_report(&pool, picky_cube, vec![1, 2]);
    match got {
        Err(_) => {}
        Ok(report) => assert!(
            report.values.is_empty() && report.failures.len() == 2,
            "a closed pool runs nothing: expected an error or two failures, got {report:?}"
        ),
    }
}
