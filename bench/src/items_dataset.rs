//! `ItemsDataset`: the seeded records of the filtered-list benchmark (`cat`, `n`, `title`),
//! the same on every server for one seed, so both answer the same totals.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Distinct `cat` values: `c0` .. `c999`, so a category matches about records / 1000.
pub const CATEGORY_COUNT: u32 = 1000;
/// `n` is drawn from `0..N_END`.
pub const N_END: u64 = 1_000_000;
/// Words in a title, and letters in a word.
const TITLE_WORDS: usize = 3;
const WORD_LETTERS_MIN: usize = 3;
const WORD_LETTERS_MAX: usize = 8;

/// One record of the `items` collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub cat: String,
    pub n: u64,
    pub title: String,
}

impl Item {
    /// The record body as sent to `POST /api/collections/items/records`.
    pub fn body(&self) -> Value {
        json!({ "cat": self.cat, "n": self.n, "title": self.title })
    }
}

/// Every record of one run, generated from `seed`.
pub struct ItemsDataset {
    pub items: Vec<Item>,
}

impl ItemsDataset {
    pub fn generate(seed: u64, count: usize) -> ItemsDataset {
        let mut rng = StdRng::seed_from_u64(seed);
        let items = (0..count)
            .map(|_| Item {
                cat: format!("c{}", rng.gen_range(0..CATEGORY_COUNT)),
                n: rng.gen_range(0..N_END),
                title: random_title(&mut rng),
            })
            .collect();
        ItemsDataset { items }
    }
}

/// A few random lowercase words, so `title~'abc'` matches roughly one record in a thousand.
fn random_title(rng: &mut StdRng) -> String {
    let words: Vec<String> = (0..TITLE_WORDS)
        .map(|_| {
            let letters = rng.gen_range(WORD_LETTERS_MIN..=WORD_LETTERS_MAX);
            (0..letters)
                .map(|_| char::from(b'a' + rng.gen_range(0..26u8)))
                .collect()
        })
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(seed: u64, count: usize) {
        let first = ItemsDataset::generate(seed, count);
        let second = ItemsDataset::generate(seed, count);
        assert_eq!(first.items, second.items, "seed {seed}: not reproducible");
        assert_eq!(first.items.len(), count, "seed {seed}");
        for item in &first.items {
            let category: u32 = item.cat[1..].parse().expect("c followed by a number");
            assert!(category < CATEGORY_COUNT, "seed {seed}: {item:?}");
            assert!(item.n < N_END, "seed {seed}: {item:?}");
            assert_eq!(item.title.split(' ').count(), TITLE_WORDS, "seed {seed}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_records() {
        for (seed, count) in [(0, 0), (1, 10), (42, 1000), (7, 5000)] {
            check(seed, count);
        }
    }
}
