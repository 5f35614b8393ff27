//! CPU time the servers used, read from `/proc/{pid}/stat` (user and system time), to say
//! how busy the nodes were during a run.

/// User plus system CPU seconds of every process in `pids` together (a process that cannot
/// be read counts 0).
pub fn cpu_secs(pids: &[Option<u32>]) -> f64 {
    // SAFETY: sysconf only reads a constant of the running system.
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks_per_sec <= 0 {
        return 0.0;
    }
    let ticks: u64 = pids.iter().flatten().filter_map(|pid| ticks_of(*pid)).sum();
    ticks as f64 / ticks_per_sec as f64
}

fn ticks_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ticks_in_stat(&stat)
}

/// `utime + stime` of a `/proc/{pid}/stat` line: fields 14 and 15, counted after the
/// command name, which is in parentheses and may hold spaces.
fn ticks_in_stat(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines() {
        let cases = [
            (
                "42 (edgebase) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 9 0",
                Some(280),
            ),
            (
                "7 (a b) c) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0",
                Some(11),
            ),
            ("7 (short) R 1", None),
        ];
        for (line, expected) in cases {
            assert_eq!(ticks_in_stat(line), expected, "{line}");
        }
    }
}
