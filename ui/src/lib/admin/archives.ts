import type { BackupFile } from '../backend/types';

/** What an archive in the backups list is, in words (the same words as `desk backups`). */
export function archiveStanding(b: BackupFile): string {
  if (b.problem) return `not listed: ${b.problem}`;
  if (!b.before_rotation && b.stale_slots === 0 && !b.old_recovery_key) return 'current keys';
  const opens: string[] = [];
  if (b.stale_slots > 0) opens.push(`${b.stale_slots} password(s) no longer in use (users removed or reset since)`);
  if (b.old_recovery_key) opens.push('the replaced recovery key');
  const head = b.before_rotation ? 'BEFORE A KEY ROTATION' : 'older keys';
  return opens.length === 0 ? head : `${head}: still opens with ${opens.join(' and ')}`;
}
