//! The linearizability checker the nemesis suite relies on, checked before it is trusted:
//! hand-made histories (linearizable ones, and planted violations: a stale read after a
//! completed write, a lost update, a read of a value never written, a write that applied
//! twice) get the verdict they must; seeded random histories of three clients on one record
//! (including operations whose outcome was never learned) get the same verdict from our
//! Wing-Gong-Lowe search as from stateright's `LinearizabilityTester`, whether the history
//! was produced by a true register or corrupted afterwards; and histories linearizable by
//! construction are always found so.

use std::time::Duration;

use edgebase_tests::linearizability::{
    check, CheckOutcome, Model, Operation, RecordInput, RecordModel, RecordOutput, RecordState,
};
use edgebase_tests::seeded_rng;
use rand::rngs::StdRng;
use rand::Rng;
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};

const BUDGET: Duration = Duration::from_secs(10);
const RANDOM_HISTORIES: usize = 3_000;

type Op = Operation<RecordInput, RecordOutput>;

fn op(
    client: u64,
    input: RecordInput,
    output: Option<RecordOutput>,
    invoked: u64,
    completed: Option<u64>,
) -> Op {
    Operation {
        client,
        input,
        output,
        invoked,
        completed,
    }
}

fn create(value: &str) -> RecordInput {
    RecordInput::Create {
        value: value.into(),
    }
}

fn update(expected: &str, value: &str) -> RecordInput {
    RecordInput::Update {
        expected: expected.into(),
        value: value.into(),
    }
}

fn read(value: Option<&str>) -> Option<RecordOutput> {
    Some(RecordOutput::Read(value.map(String::from)))
}

fn linearizable(history: &[Op]) -> bool {
    match check::<RecordModel>(history, BUDGET) {
        CheckOutcome::Linearizable => true,
        CheckOutcome::Violation { .. } => false,
        CheckOutcome::Unknown => panic!("the budget ran out on {history:?}"),
    }
}

#[test]
fn hand_made_histories_get_their_verdicts() {
    use RecordInput::{Delete, Read};
    use RecordOutput::{Created, Deleted, Exists, Stale, Updated};
    let cases: Vec<(&str, Vec<Op>, bool)> = vec![
        ("empty", vec![], true),
        (
            "create then read",
            vec![
                op(1, create("a"), Some(Created), 0, Some(1)),
                op(2, Read, read(Some("a")), 2, Some(3)),
            ],
            true,
        ),
        (
            "a read concurrent with the create may miss it",
            vec![
                op(1, create("a"), Some(Created), 0, Some(10)),
                op(2, Read, read(None), 2, Some(3)),
            ],
            true,
        ),
        (
            "planted: a read after the create completed misses it",
            vec![
                op(1, create("a"), Some(Created), 0, Some(1)),
                op(2, Read, read(None), 2, Some(3)),
            ],
            false,
        ),
        (
            "planted: a read of a value never written",
            vec![
                op(1, create("a"), Some(Created), 0, Some(1)),
                op(2, Read, read(Some("z")), 2, Some(3)),
            ],
            false,
        ),
        (
            "two racing creates: one wins",
            vec![
                op(1, create("a"), Some(Created), 0, Some(5)),
                op(2, create("b"), Some(Exists), 1, Some(6)),
                op(3, Read, read(Some("a")), 7, Some(8)),
            ],
            true,
        ),
        (
            "planted: both racing creates win",
            vec![
                op(1, create("a"), Some(Created), 0, Some(5)),
                op(2, create("b"), Some(Created), 1, Some(6)),
            ],
            false,
        ),
        (
            "an update from what was read",
            vec![
                op(1, create("a"), Some(Created), 0, Some(1)),
                op(2, update("a", "b"), Some(Updated), 2, Some(3)),
                op(1, Read, read(Some("b")), 4, Some(5)),
            ],
            true,
        ),
        (
            "planted: a lost update (both from a, both applied)",
            vec![
                op(1, create("a"), Some(Created), 0, Some(1)),
                op(2, update("a", "b"), Some(Updated), 2, Some(5)),
                op(3, update("a", "c"), Some(Updated), 3, Some(6)),
            ],
            false,
        ),
        (
            "racing updates from a: one is stale",
            vec![
                op(1, create("a"), Some(Created), 0, Some(1)),
                op(2, update("a", "b"), Some(Updated), 2, Some(5)),
                op(3, update("a", "c"), Some(Stale), 3, Some(6)),
                op(1, Read, read(Some("b")), 7, Some(8)),
            ],
            true,
        ),
        (
            "planted: a stale read after the update completed",
            vec![
                op(1, create("a"), Some(Created), 0, Some(1)),
                op(2, update("a", "b"), Some(Updated), 2, Some(3)),
                op(1, Read, read(Some("a")), 4, Some(5)),
            ],
            false,
        ),
        (
            "a create of unknown outcome may have applied",
            vec![
                op(1, create("a"), None, 0, None),
                op(2, Read, read(Some("a")), 5, Some(6)),
            ],
            true,
        ),
        (
            "a create of unknown outcome may not have applied",
            vec![
                op(1, create("a"), None, 0, None),
                op(2, Read, read(None), 5, Some(6)),
            ],
            true,
        ),
        (
            "planted: unknown create, seen, then unseen",
            vec![
                op(1, create("a"), None, 0, None),
                op(2, Read, read(Some("a")), 5, Some(6)),
                op(2, Read, read(None), 7, Some(8)),
            ],
            false,
        ),
        (
            "delete then read",
            vec![
                op(1, create("a"), Some(Created), 0, Some(1)),
                op(2, Delete, Some(Deleted), 2, Some(3)),
                op(1, Read, read(None), 4, Some(5)),
            ],
            true,
        ),
        (
            "planted: a write applied twice (a create that came back)",
            vec![
                op(1, create("a"), Some(Created), 0, Some(1)),
                op(2, Delete, Some(Deleted), 2, Some(3)),
                op(3, Read, read(Some("a")), 4, Some(5)),
            ],
            false,
        ),
    ];
    for (name, history, expected) in cases {
        assert_eq!(linearizable(&history), expected, "{name}");
    }
}

/// A random history of three clients on one record, produced by a true register: each
/// operation takes effect at a random point inside its interval. Some operations never
/// learn their outcome (and end their client).
fn true_history(rng: &mut StdRng) -> Vec<Op> {
    struct Pending {
        client: u64,
        input: RecordInput,
        invoked: u64,
        effect: u64,
        completed: u64,
        unknown: bool,
    }
    let mut pending = Vec::new();
    let mut written = vec![String::new()];
    let mut next_value = 0;
    for client in 1..=3u64 {
        let mut clock = rng.gen_range(0..5) * 10;
        for _ in 0..rng.gen_range(1..=4) {
            let invoked = clock + 1;
            let duration = rng.gen_range(1..40);
            let effect = invoked + rng.gen_range(0..duration);
            let completed = invoked + duration;
            next_value += 1;
            let value = format!("v{next_value}");
            let input = match rng.gen_range(0..4) {
                0 => create(&value),
                1 => RecordInput::Read,
                2 => update(&written[rng.gen_range(0..written.len())].clone(), &value),
                _ => RecordInput::Delete,
            };
            written.push(value);
            let unknown = rng.gen_bool(0.1);
            pending.push(Pending {
                client,
                input,
                invoked,
                effect,
                completed,
                unknown,
            });
            clock = completed;
            if unknown {
                break;
            }
        }
    }
    // Apply in effect order (ties broken by invocation) to get each output.
    let mut order: Vec<usize> = (0..pending.len()).collect();
    order.sort_by_key(|at| (pending[*at].effect, pending[*at].invoked, *at));
    let mut state: RecordState = RecordModel::init();
    let mut outputs: Vec<Option<RecordOutput>> = vec![None; pending.len()];
    for at in order {
        let output = natural_output(&state, &pending[at].input);
        state =
            RecordModel::step(&state, &pending[at].input, Some(&output)).expect("a natural step");
        outputs[at] = Some(output);
    }
    pending
        .into_iter()
        .zip(outputs)
        .map(|(pending, output)| Operation {
            client: pending.client,
            input: pending.input,
            output: if pending.unknown { None } else { output },
            invoked: pending.invoked,
            completed: (!pending.unknown).then_some(pending.completed),
        })
        .collect()
}

fn natural_output(state: &RecordState, input: &RecordInput) -> RecordOutput {
    use RecordOutput as Out;
    match (input, state) {
        (RecordInput::Create { .. }, None) => Out::Created,
        (RecordInput::Create { .. }, Some(_)) => Out::Exists,
        (RecordInput::Read, _) => Out::Read(state.clone()),
        (RecordInput::Update { expected, .. }, Some(current)) if current == expected => {
            Out::Updated
        }
        (RecordInput::Update { .. }, Some(_)) => Out::Stale,
        (RecordInput::Update { .. }, None) => Out::Missing,
        (RecordInput::Delete, Some(_)) => Out::Deleted,
        (RecordInput::Delete, None) => Out::Missing,
    }
}

/// Change one known output to another it could plausibly have been.
fn corrupt(history: &mut [Op], rng: &mut StdRng) {
    let known: Vec<usize> = (0..history.len())
        .filter(|at| history[*at].output.is_some())
        .collect();
    if known.is_empty() {
        return;
    }
    let at = known[rng.gen_range(0..known.len())];
    use RecordOutput as Out;
    let replaced = match history[at].output.take() {
        Some(Out::Created) => Out::Exists,
        Some(Out::Exists) => Out::Created,
        Some(Out::Read(Some(_))) => Out::Read(None),
        Some(Out::Read(None)) => Out::Read(Some(format!("v{}", rng.gen_range(1..6)))),
        Some(Out::Updated) => Out::Stale,
        Some(Out::Stale) => Out::Updated,
        Some(Out::Missing) => Out::Deleted,
        Some(Out::Deleted) => Out::Missing,
        None => unreachable!("a known output"),
    };
    history[at].output = Some(replaced);
}

/// The same record model as stateright's sequential specification.
#[derive(Clone, Debug)]
struct StaterightRecord(RecordState);

impl SequentialSpec for StaterightRecord {
    type Op = RecordInput;
    type Ret = RecordOutput;

    fn invoke(&mut self, op: &RecordInput) -> RecordOutput {
        let output = natural_output(&self.0, op);
        self.0 = RecordModel::step(&self.0, op, Some(&output)).expect("a natural step");
        output
    }
}

/// stateright's verdict: events fed in time order (times in these histories are distinct
/// per event except where an operation starts as its client's previous one ends).
fn stateright_verdict(history: &[Op]) -> bool {
    let mut events: Vec<(u64, bool, usize)> = Vec::new();
    for (at, operation) in history.iter().enumerate() {
        events.push((operation.invoked, true, at));
        if let Some(completed) = operation.completed {
            events.push((completed, false, at));
        }
    }
    // At equal times calls come first, as the WGL search takes them: concurrent.
    events.sort_by_key(|(time, is_call, at)| (*time, !*is_call, *at));
    let mut tester = LinearizabilityTester::new(StaterightRecord(None));
    for (_, is_call, at) in events {
        let operation = &history[at];
        // One thread per operation keeps each thread at one operation in flight; real time
        // comes from the order of the calls.
        let thread = at;
        if is_call {
            tester
                .on_invoke(thread, operation.input.clone())
                .expect("a valid history");
        } else {
            let output = operation
                .output
                .clone()
                .expect("a completed operation's output");
            tester.on_return(thread, output).expect("a valid history");
        }
    }
    tester.is_consistent()
}

#[test]
fn random_histories_agree_with_stateright() {
    let mut rng = seeded_rng("linearizability_checker");
    let (mut violations, mut linearizable_count) = (0, 0);
    for round in 0..RANDOM_HISTORIES {
        let mut history = true_history(&mut rng);
        assert!(
            linearizable(&history),
            "round {round}: a true register's history {history:?}"
        );
        if rng.gen_bool(0.5) {
            corrupt(&mut history, &mut rng);
        }
        let ours = linearizable(&history);
        let theirs = stateright_verdict(&history);
        assert_eq!(
            ours, theirs,
            "round {round}: ours {ours}, stateright {theirs}: {history:?}"
        );
        if ours {
            linearizable_count += 1;
        } else {
            violations += 1;
        }
    }
    eprintln!("{linearizable_count} linearizable, {violations} violations, all agreed");
    assert!(
        violations > RANDOM_HISTORIES / 10,
        "corruptions must produce violations to compare"
    );
}
