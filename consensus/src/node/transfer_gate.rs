//! Holds back proposals, read indexes and membership changes while this leader hands its
//! leadership over, so that no append reaches a follower and renews the old leader's lease.

use std::time::Duration;

use tokio::sync::watch;

use crate::transport::ForwardError;

/// At most one leadership transfer at a time; other leader work waits (bounded) until it ends.
pub(crate) struct TransferGate {
    busy: watch::Sender<bool>,
}

/// Held for the length of one transfer; dropping it opens the gate.
pub(crate) struct TransferPermit<'a> {
    gate: &'a TransferGate,
}

impl TransferGate {
    pub fn new() -> Self {
        Self {
            busy: watch::Sender::new(false),
        }
    }

    /// Close the gate, unless a transfer already holds it.
    pub fn try_begin(&self) -> Option<TransferPermit<'_>> {
        let begun = self.busy.send_if_modified(|busy| {
            if *busy {
                false
            } else {
                *busy = true;
                true
            }
        });
        // Not `then_some`: building a permit that is then dropped would open the gate.
        if begun {
            Some(TransferPermit { gate: self })
        } else {
            None
        }
    }

    /// Wait until no transfer is under way, at most `timeout`.
    pub async fn wait_open(&self, timeout: Duration) -> Result<(), ForwardError> {
        let mut busy = self.busy.subscribe();
        let waited = tokio::time::timeout(timeout, busy.wait_for(|busy| !*busy))
            .await
            .map(|result| result.map(|_| ()));
        match waited {
            Ok(Ok(())) => Ok(()),
            // The sender lives as long as the node core, so a closed channel means shutdown.
            Ok(Err(_)) => Err(ForwardError::Unavailable(
                "node is shutting down".to_string(),
            )),
            Err(_) => Err(ForwardError::Unavailable(format!(
                "a leadership transfer did not finish within {} ms",
                timeout.as_millis()
            ))),
        }
    }
}

impl Drop for TransferPermit<'_> {
    fn drop(&mut self) {
        self.gate.busy.send_replace(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_transfer_at_a_time_and_waiters_resume_when_it_ends() {
        let gate = TransferGate::new();
        assert!(gate.wait_open(Duration::from_millis(10)).await.is_ok());
        let permit = gate.try_begin().expect("first transfer begins");
        assert!(gate.try_begin().is_none(), "a second transfer is refused");
        let waited = gate.wait_open(Duration::from_millis(20)).await;
        assert!(
            matches!(waited, Err(ForwardError::Unavailable(_))),
            "{waited:?}"
        );
        drop(permit);
        assert!(gate.wait_open(Duration::from_millis(10)).await.is_ok());
        assert!(gate.try_begin().is_some(), "the gate can be taken again");
    }
}
