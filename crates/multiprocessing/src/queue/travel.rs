//! Handles travel: how a [`Sender`] or [`Receiver`] crosses to another process.
//!
//! What crosses is the queue's registration channel and its options, nothing else: not the
//! session, not the buffered items, not the feeder. The receiving process opens its own session
//! with the broker on first use, exactly as a clone does. So a handle can be sent inside a
//! `Process` argument or inside a message on another channel, any number of times, and each copy
//! is an independent producer or consumer. A copy never takes the in-process short cut of
//! `local.rs`: it has no door table, because the table only exists in the creating process.
//!
//! The `Debug` forms are here too: short, so that structs holding handles can derive `Debug`.

use std::fmt;

use ipc_channel::ipc::IpcSender;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::joinable::{JoinableReceiver, JoinableSender};
use super::receiver::Receiver;
use super::sender::Sender;
use super::session::lock;
use super::wire::{Config, Hello};

#[derive(Serialize)]
struct HandleOut<'a, T> {
    registry: &'a IpcSender<Hello<T>>,
    config: Config,
}

#[derive(Deserialize)]
#[serde(bound = "")]
struct HandleIn<T> {
    registry: IpcSender<Hello<T>>,
    config: Config,
}

impl<T> Serialize for Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let registry = lock(&self.inner.registry);
        HandleOut {
            registry: &registry,
            config: self.inner.config,
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let handle = HandleIn::<T>::deserialize(deserializer)?;
        Ok(Sender::from_parts(handle.registry, handle.config, None))
    }
}

impl<T> Serialize for Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let registry = lock(&self.inner.registry);
        HandleOut {
            registry: &registry,
            config: self.inner.config,
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let handle = HandleIn::<T>::deserialize(deserializer)?;
        Ok(Receiver::from_parts(handle.registry, handle.config, None))
    }
}

impl<T> fmt::Debug for Sender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.inner.config.capacity)
            .field("batch", &self.inner.config.batch)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.inner.config.capacity)
            .field("batch", &self.inner.config.batch)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for JoinableSender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JoinableSender").field(&self.0).finish()
    }
}

impl<T> fmt::Debug for JoinableReceiver<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JoinableReceiver").field(&self.0).finish()
    }
}
