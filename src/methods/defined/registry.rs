//! The definitions in force, in memory (the store holds them on disk; `State::commit`
//! keeps both in step). The gateway looks a method up once per request.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::Compiled;

/// The compiled definitions by method name.
#[derive(Debug, Default)]
pub struct Definitions {
    map: RwLock<BTreeMap<String, Arc<Compiled>>>,
}

impl Definitions {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Compiled>>> {
        // A poisoned lock only means a panic between complete updates.
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Compiled>>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The definition of this method, if there is one.
    pub fn get(&self, method: &str) -> Option<Arc<Compiled>> {
        self.read().get(method).cloned()
    }

    /// Every definition, by method name.
    pub fn all(&self) -> Vec<Arc<Compiled>> {
        self.read().values().cloned().collect()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Replaces everything (start-up, reset).
    pub fn replace_all(&self, definitions: Vec<Compiled>) {
        *self.write() = definitions
            .into_iter()
            .map(|d| (d.name().to_owned(), Arc::new(d)))
            .collect();
    }

    /// Adds or replaces one definition.
    pub fn insert(&self, definition: Compiled) {
        self.write()
            .insert(definition.name().to_owned(), Arc::new(definition));
    }

    /// Removes one definition; whether it was there.
    pub fn remove(&self, method: &str) -> bool {
        self.write().remove(method).is_some()
    }
}
