//! One request's bound on work: the records its list, expands, back-relations and rule
//! checks may examine, together. Each storage read gets what is left as its own bound and
//! charges what it spent, so many small reads cannot add up to an unbounded request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use edgebase_storage::query::QueryError;

use crate::error::ServiceError;

/// Shared by every clone of one request's caller.
#[derive(Debug, Clone)]
pub struct WorkBudget {
    records_examined_max: u64,
    spent: Arc<AtomicU64>,
}

impl WorkBudget {
    pub fn new(records_examined_max: u64) -> Self {
        WorkBudget {
            records_examined_max,
            spent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The work still allowed.
    pub fn remaining(&self) -> u64 {
        self.records_examined_max
            .saturating_sub(self.spent.load(Ordering::Relaxed))
    }

    /// Run one storage read bounded by what is left, and charge what it examined. A read
    /// that runs out is refused as the whole request's overrun.
    pub fn run<T: Examined>(
        &self,
        read: impl FnOnce(u64) -> Result<T, QueryError>,
    ) -> Result<T, ServiceError> {
        let remaining = self.remaining();
        if remaining == 0 {
            return Err(self.exhausted());
        }
        match read(remaining) {
            Ok(answer) => {
                self.spent
                    .fetch_add(answer.records_examined(), Ordering::Relaxed);
                Ok(answer)
            }
            Err(QueryError::TooMuchWork { .. }) => {
                self.spent
                    .store(self.records_examined_max, Ordering::Relaxed);
                Err(self.exhausted())
            }
            Err(other) => Err(other.into()),
        }
    }

    fn exhausted(&self) -> ServiceError {
        ServiceError::Query(QueryError::TooMuchWork {
            records_examined_max: self.records_examined_max,
        })
    }
}

/// A storage answer that says how much work it took.
pub trait Examined {
    fn records_examined(&self) -> u64;
}

impl Examined for edgebase_storage::query::ListPage {
    fn records_examined(&self) -> u64 {
        self.records_examined
    }
}

impl Examined for edgebase_storage::query::RuleCheck {
    fn records_examined(&self) -> u64 {
        self.records_examined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Spent(u64);

    impl Examined for Spent {
        fn records_examined(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn reads_share_one_bound() {
        let budget = WorkBudget::new(100);
        let shared = budget.clone();
        assert!(budget
            .run(|allowance| {
                assert_eq!(allowance, 100);
                Ok(Spent(60))
            })
            .is_ok());
        assert!(shared
            .run(|allowance| {
                assert_eq!(allowance, 40);
                Ok(Spent(40))
            })
            .is_ok());
        let refused = budget.run(|_| -> Result<Spent, QueryError> { unreachable!() });
        assert!(matches!(
            refused,
            Err(ServiceError::Query(QueryError::TooMuchWork {
                records_examined_max: 100
            }))
        ));
    }

    #[test]
    fn an_overrun_names_the_request_bound() {
        let budget = WorkBudget::new(10);
        let overrun = budget.run(|allowance| -> Result<Spent, QueryError> {
            Err(QueryError::TooMuchWork {
                records_examined_max: allowance,
            })
        });
        assert!(matches!(
            overrun,
            Err(ServiceError::Query(QueryError::TooMuchWork {
                records_examined_max: 10
            }))
        ));
        assert_eq!(budget.remaining(), 0);
    }
}
