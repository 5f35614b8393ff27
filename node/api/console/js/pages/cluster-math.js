// Quorum arithmetic for the cluster page: what the cluster can survive now, and after a
// membership change. Prefers the numbers the node reports; computes them when absent.

const quorumOf = (voters) => Math.floor(voters / 2) + 1;

/** {voters, quorum, reachableVoters, faultTolerance} of a /api/cluster/status answer. */
export function health(status) {
  const voters = status.members.filter((m) => m.role === 'voter');
  const count = status.voters ?? voters.length;
  const quorum = status.quorum ?? quorumOf(count);
  const reachable = voters.filter((m) => m.reachable).length;
  const faultTolerance = status.faultTolerance ?? Math.max(0, reachable - quorum);
  return { voters: count, quorum, reachableVoters: reachable, faultTolerance };
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Sentences saying what an action does to quorum and fault tolerance, before it is done. */
export function effectOf(action, status, member) {
  const now = health(status);
  const after = (voters, reachable) => {
    const quorum = quorumOf(voters);
    return { voters, quorum, faultTolerance: Math.max(0, reachable - quorum) };
  };
  const compare = (next) => [
    `Voters: ${now.voters} → ${next.voters}. Quorum (votes needed for a write or an election): ${now.quorum} → ${next.quorum}.`,
    `Voters that can fail without stopping writes: ${now.faultTolerance} now → ${next.faultTolerance} after.`,
    next.voters % 2 === 0 ? `With an even number of voters, the cluster survives no more failures than with ${next.voters - 1}.` : null,
    next.faultTolerance === 0 ? 'After this, losing any one more voter stops all writes.' : null,
  ].filter(Boolean);
  switch (action) {
    case 'add-learner':
      return [`A learner copies the log but does not vote: quorum stays ${now.quorum} of ${now.voters} voters, and ${plural(now.faultTolerance, 'voter')} can still fail.`,
        'Promote it once it has caught up to give it a vote.'];
    case 'promote':
      return compare(after(now.voters + 1, now.reachableVoters + (member.reachable ? 1 : 0)));
    case 'remove':
      if (member.role === 'learner') return [`Node ${member.id} is a learner: quorum (${now.quorum} of ${now.voters}) and fault tolerance (${now.faultTolerance}) do not change.`];
      return compare(after(now.voters - 1, now.reachableVoters - (member.reachable ? 1 : 0)));
    case 'transfer':
      return [`Leadership moves from node ${status.leaderId} to node ${member.id}. Quorum (${now.quorum} of ${now.voters}) and fault tolerance (${now.faultTolerance}) do not change.`,
        'Writes pause briefly while the new leader takes over.'];
    default:
      return [];
  }
}
