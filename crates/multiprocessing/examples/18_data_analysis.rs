//! # Listing 2.18: the mean of 100 000 numbers, in five strided parts (the articles' "data analysis")
//!
//! The article's program draws 100 000 random floats, splits them into five strided subsets
//! (Python's `data[i::5]`), hands each subset to a worker of `Pool(5)` to average, and prints the
//! mean of the five means. That is right for 100 000 numbers and wrong in general: a mean of means
//! equals the mean of the whole only when every part has the same size. With 100 003 numbers the
//! parts hold 20 001, 20 001, 20 001, 20 000 and 20 000; each part must then count in proportion
//! to its size, which the *weighted* mean does. This listing shows both cases, each result beside
//! the mean computed directly in the parent.
//!
//! The workers return each part's sum and its count rather than its mean, which is what makes the
//! weighted mean exact; the numbers are drawn from a seeded generator so every run sees the same
//! data (a real program would use the `rand` crate; a few lines of SplitMix64 keep the listing
//! free of it and its output the same on every version).
//!
//! Run it:
//!
//! ```text
//! cargo run -p multiprocessing --example 18_data_analysis
//! cargo run -p multiprocessing --example 18_data_analysis -- --len 1000003 --parts 7
//! ```
//!
//! What to expect: for 100 000 numbers, all three agree to the last printed digit (they differ
//! only by rounding, around 10⁻¹⁵); for 100 003, the mean of means is off by far more than that
//! (around 10⁻⁸ with the default seed), and the weighted mean agrees with the direct one again,
//! up to rounding.
//!
//! Checked by `tests/examples.rs`:
//!
//! ```text
//! expect: ^100000 numbers in 5 parts of 20000 to 20000$
//! expect: ^100003 numbers in 5 parts of 20000 to 20001$
//! expect: ^  mean of means is off by \d\.\de-\d+$
//! expect: ^  weighted mean is off by (\d\.\de-1\d|0\.0e0)$
//! ```

use anyhow::Result;
use clap::Parser;
use multiprocessing::pool::Pool;

#[derive(Parser)]
#[command(
    about = "The mean of many numbers, averaged in strided parts by a pool"
)]
struct Args {
    /// How many numbers in the second run (the first always has 100 000).
    #[arg(long, default_value_t = 100_003)]
    len: usize,
    /// Into how many strided parts to split them (Python's data[i::parts]).
    #[arg(long, default_value_t = 5)]
    parts: usize,
    /// The seed of the random numbers.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
}

// ANCHOR: worker
/// What a worker computes for one part: its sum and how many numbers it has.
fn sum_and_count(part: Vec<f64>) -> (f64, usize) {
    (part.iter().sum(), part.len())
}
// ANCHOR_END: worker

// ANCHOR: strided
/// Python's `[data[i::parts] for i in range(parts)]`.
fn strided(data: &[f64], parts: usize) -> Vec<Vec<f64>> {
    (0..parts)
        .map(|i| data.iter().skip(i).step_by(parts).copied().collect())
        .collect()
}
// ANCHOR_END: strided

fn main() -> Result<()> {
    multiprocessing::init();
    let args = Args::parse();
    anyhow::ensure!(args.parts > 0, "--parts must be at least 1");
    let pool = Pool::new(args.parts)?;
    for len in [100_000, args.len] {
        let data = random_floats(len, args.seed);
        analyse(&pool, &data, args.parts)?;
    }
    Ok(())
}

// ANCHOR: analyse
fn analyse(pool: &Pool, data: &[f64], parts: usize) -> Result<()> {
    let results = pool.map(sum_and_count, strided(data, parts))?;
    let parts: Vec<(f64, usize)> =
        results.into_iter().collect::<Result<_, _>>()?;
    let direct = data.iter().sum::<f64>() / data.len() as f64;
    // The article's answer: every part counts the same.
    let means: Vec<f64> =
        parts.iter().map(|&(sum, n)| sum / n as f64).collect();
    let mean_of_means = means.iter().sum::<f64>() / means.len() as f64;
    // The right answer: every part counts as many times as it has numbers.
    let total: f64 = parts.iter().map(|&(sum, _)| sum).sum();
    let weighted = total / data.len() as f64;
    // ANCHOR_END: analyse
    let sizes = parts.iter().map(|&(_, n)| n);
    let (smallest, largest) = (sizes.clone().min(), sizes.max());
    println!(
        "{} numbers in {} parts of {} to {}",
        data.len(),
        parts.len(),
        smallest.unwrap_or(0),
        largest.unwrap_or(0)
    );
    println!("  direct mean        {direct:.12}");
    println!("  mean of means      {mean_of_means:.12}");
    println!("  weighted mean      {weighted:.12}");
    println!(
        "  mean of means is off by {:.1e}",
        (mean_of_means - direct).abs()
    );
    println!("  weighted mean is off by {:.1e}", (weighted - direct).abs());
    Ok(())
}

/// `len` floats in `[0, 1)` from SplitMix64 seeded with `seed`: the same numbers on every run.
fn random_floats(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49EB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}
