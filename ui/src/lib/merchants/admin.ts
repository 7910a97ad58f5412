// Pure helpers of the merchant administration controls. Rust decides (it refuses a move or a
// reason code it does not allow); these only choose what to offer.

export type MerchantAction = 'restrict' | 'suspend' | 'reinstate' | 'terminate';

/** Reason codes per action, as Rust's `api::merchants` accepts them. */
export const REASONS: Record<MerchantAction, string[]> = {
  restrict: ['chargeback_rate', 'unusual_volume', 'kyc_refresh', 'sanctions_review', 'other'],
  suspend: ['suspected_fraud', 'chargeback_rate', 'sanctions_match', 'policy_violation', 'other'],
  reinstate: ['review_cleared', 'issue_resolved', 'other'],
  terminate: ['fraud', 'terms_of_service', 'sanctions_match', 'credit_risk', 'other'],
};

export const ACTION_LABEL: Record<MerchantAction, string> = {
  restrict: 'Restrict',
  suspend: 'Suspend',
  reinstate: 'Reinstate',
  terminate: 'Terminate',
};

/** What each action does on the platform, shown before confirming. */
export const ACTION_EFFECT: Record<MerchantAction, string> = {
  restrict: 'Payouts are held (manual schedule); charging continues.',
  suspend: 'Card payments are switched off and payouts held.',
  reinstate: 'Card payments and daily payouts are requested again.',
  terminate: 'The platform account is rejected. This cannot be undone.',
};

/** The actions a merchant in `status` can take. */
export function actionsFor(status: string): MerchantAction[] {
  switch (status) {
    case 'active':
      return ['restrict', 'suspend', 'terminate'];
    case 'restricted':
      return ['suspend', 'reinstate', 'terminate'];
    case 'suspended':
      return ['reinstate', 'terminate'];
    default:
      return [];
  }
}

/** Cents as "1,500.00", or "no limit". */
export function money(cents: number | null): string {
  if (cents === null) return 'no limit';
  return (cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export const humanize = (code: string): string => code.replaceAll('_', ' ');
