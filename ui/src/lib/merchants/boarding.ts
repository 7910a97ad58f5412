// Pure helpers of the Boarding and Merchants pages.

import type { BoardingJob, JobState, PlatformHealth, PlatformSender } from '../backend/types';

export const JOB_STATE_LABEL: Record<JobState, string> = {
  queued: 'Queued',
  retrying: 'Retrying',
  needs_fix: 'Needs a fix',
  done: 'Boarded',
  cancelled: 'Cancelled',
};

/** A job's state as a person reads it: a finished update or termination was "sent". */
export function stateLabel(job: Pick<BoardingJob, 'kind' | 'state'>): string {
  if (job.kind !== 'board' && job.state === 'done') return 'Sent';
  return JOB_STATE_LABEL[job.state];
}

/** Who queues the platform deletion of an erased merchant's account. */
export const ERASURE = 'gdpr erasure';

/** "account", "person:1", "provided" (boarding), "send" (an update / termination) or a person
 * step of an accepted change ("update_person:…", "new_person:1", "delete_person:…"). */
export function stepLabel(step: string, kind = 'board', createdBy = ''): string {
  // An erasure's deletion of the platform account (its step reads `done` once sent).
  if (kind === 'reject' && (step === 'delete_account' || createdBy === ERASURE)) return 'Delete account (erasure)';
  // An update or termination is one request: name what it does, sent or not.
  if (kind === 'reject') return 'Terminate account';
  if (kind !== 'board') {
    const added = /^new_person:(\d+)$/.exec(step);
    if (added) return `Add person ${Number(added[1]) + 1}`;
    if (step.startsWith('update_person:')) return 'Update person';
    if (step.startsWith('delete_person:')) return 'Remove person';
    return 'Update account';
  }
  if (step === 'account') return 'Create account';
  if (step === 'provided') return 'Confirm owners';
  if (step === 'done') return 'Done';
  const person = /^person:(\d+)$/.exec(step);
  if (person) return `Add person ${Number(person[1]) + 1}`;
  return step;
}

/** "in 12 s", "in 3 min", "now" for a retry time (ms since the epoch). */
export function nextRetry(job: Pick<BoardingJob, 'state' | 'next_attempt_at'>, nowMs: number): string {
  if (job.state !== 'retrying' && job.state !== 'queued') return '—';
  const s = Math.round((job.next_attempt_at - nowMs) / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  return `in ${Math.round(s / 3600)} h`;
}

/**
 * Which desk sends the outbox, or null when there is nothing to say (this desk's worker is not
 * trying: no session that may send).
 */
export function senderLine(sender: PlatformSender | null, locale?: string): string | null {
  if (!sender) return null;
  const at = (t: string) => new Date(t).toLocaleTimeString(locale ?? 'en-GB');
  switch (sender.state) {
    case 'this_desk':
      return `This desk sends the outbox (since ${at(sender.since)})`;
    case 'other_desk':
      return `${sender.by ?? 'Another desk'} sends the outbox${sender.since ? ` (since ${at(sender.since)})` : ''}; this desk stands by and takes over if it stops`;
    case 'unreachable':
      return `Team store unavailable since ${at(sender.since)}: this desk sends nothing until it is back`;
    case 'nobody':
      return 'No desk sends the outbox now';
    case 'idle':
      return null;
  }
}

/** The status-bar line for the platform, or null when it is up. */
export function healthLine(health: PlatformHealth | null, locale?: string): string | null {
  if (!health || health.state === 'up') return null;
  const since = new Date(health.since).toLocaleTimeString(locale ?? 'en-GB');
  const retry = new Date(health.retry_at).toLocaleTimeString(locale ?? 'en-GB');
  return `Platform unavailable since ${since} (${health.failures} failures; next try ${retry})`;
}
