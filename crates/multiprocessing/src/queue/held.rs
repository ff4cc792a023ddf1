//! The items the broker holds: decoded items, and parcels of plain items still encoded.
//!
//! A parcel (`lane/inbox.rs`) counts as many items as it holds, for the bound, for `join` and
//! for sharing items between consumers, but it is decoded only by the consumer that takes it. So
//! the broker mostly moves parcels whole. Only when a consumer's share ends inside a parcel does
//! the broker decode that parcel itself, hand out the share, and keep the rest as items, in
//! order.

use std::collections::VecDeque;

use serde::de::DeserializeOwned;

use super::lane::Entry;

/// The broker's items, in order, and how many there are.
pub(super) struct Held<T> {
    entries: VecDeque<Entry<T>>,
    count: usize,
}

impl<T: DeserializeOwned> Held<T> {
    pub(super) fn new() -> Held<T> {
        Held {
            entries: VecDeque::new(),
            count: 0,
        }
    }

    /// How many items (not entries).
    pub(super) fn len(&self) -> usize {
        self.count
    }

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// New items, at the back.
    pub(super) fn push_back(&mut self, entries: Vec<Entry<T>>) {
        for entry in entries {
            self.count += entry.count();
            self.entries.push_back(entry);
        }
    }

    /// Items given back by a consumer, at the front again, in their order.
    pub(super) fn push_front(&mut self, entries: Vec<Entry<T>>) {
        for entry in entries.into_iter().rev() {
            self.count += entry.count();
            self.entries.push_front(entry);
        }
    }

    /// The first `n` items (fewer if there are fewer), splitting a parcel if the share ends
    /// inside it.
    pub(super) fn take(&mut self, n: usize) -> Vec<Entry<T>> {
        let mut taken = Vec::new();
        let mut left = n;
        while left > 0 {
            let Some(entry) = self.entries.pop_front() else {
                break;
            };
            let count = entry.count();
            self.count -= count;
            if count <= left {
                left -= count;
                taken.push(entry);
                continue;
            }
            let mut items = into_items_reporting(vec![entry]).into_iter();
            taken.extend(items.by_ref().take(left).map(Entry::Item));
            left = 0;
            self.push_front(items.map(Entry::Item).collect());
        }
        taken
    }
}

/// Items from entries, decoding parcels here. A parcel that does not decode (only a bug or two
/// different binaries can cause that) is reported on standard error and its items are lost: the
/// broker has no one to return an error to.
pub(super) fn into_items_reporting<T: DeserializeOwned>(
    entries: Vec<Entry<T>>,
) -> Vec<T> {
    let mut items = Vec::new();
    for entry in entries {
        match entry {
            Entry::Item(item) => items.push(item),
            Entry::Parcel(parcel) => match parcel.decode::<T>() {
                Ok(decoded) => items.extend(decoded),
                Err(error) => report_lost(parcel.count(), &error),
            },
        }
    }
    items
}

fn report_lost(count: usize, error: &str) {
    eprintln!(
        "multiprocessing: the queue broker lost {count} items it could not decode: {error}"
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::queue::lane::{Parcel, Pool};

    fn parcel(items: &[u32], pool: &Arc<Pool>) -> Entry<u32> {
        Entry::Parcel(Parcel::of(items, pool))
    }

    fn numbers(entries: Vec<Entry<u32>>) -> Vec<u32> {
        into_items_reporting(entries)
    }

    #[test]
    fn parcels_count_as_their_items_and_move_whole() {
        let pool = Arc::new(Pool::default());
        let mut held = Held::new();
        held.push_back(vec![
            Entry::Item(1),
            parcel(&[2, 3, 4], &pool),
            Entry::Item(5),
        ]);
        assert_eq!(held.len(), 5);
        let first = held.take(4);
        assert!(
            matches!(first[1], Entry::Parcel(_)),
            "the parcel moved whole"
        );
        assert_eq!(numbers(first), [1, 2, 3, 4]);
        assert_eq!(pool.len(), 1, "the decoded parcel gave its buffer back");
        assert_eq!(numbers(held.take(10)), [5]);
        assert!(held.is_empty());
    }

    #[test]
    fn a_share_that_ends_inside_a_parcel_splits_it_in_order() {
        let pool = Arc::new(Pool::default());
        let mut held = Held::new();
        held.push_back(vec![parcel(&[1, 2, 3, 4], &pool), Entry::Item(5)]);
        assert_eq!(numbers(held.take(1)), [1]);
        assert_eq!(held.len(), 4);
        assert_eq!(numbers(held.take(2)), [2, 3]);
        held.push_front(vec![Entry::Item(0)]);
        assert_eq!(numbers(held.take(10)), [0, 4, 5]);
        assert_eq!(held.len(), 0);
    }
}
