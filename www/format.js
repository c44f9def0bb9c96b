// Formatting of dates and counts for the admin page.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const pad = (n) => String(n).padStart(2, '0');
const numberFmt = new Intl.NumberFormat();

/** "2026/11/20 at 9:14 AM", as wp-admin lists dates; '—' when absent. */
export function when(ms) {
  if (ms === undefined || ms === null || ms === 0 || Number.isNaN(Number(ms))) return '—';
  const d = new Date(Number(ms));
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} at ${timeFmt.format(d)}`;
}

/** The full ISO time, for title attributes. */
export function iso(ms) {
  if (!ms) return '';
  try {
    return new Date(Number(ms)).toISOString();
  } catch {
    return '';
  }
}

export const num = (n) => numberFmt.format(Number(n ?? 0));

/** "1 item" / "3 items" */
export const items = (n, one = 'item', many = `${one}s`) => `${num(n)} ${Number(n) === 1 ? one : many}`;

export const CREDENTIALS = {
  none: 'No credentials yet',
  link_issued: 'Set-password link issued (not used yet)',
  password: 'Password set',
};

export const WELCOME = {
  not_sent: 'Not sent',
  pending: 'Waiting for credentials',
  sent: 'Welcome tag applied',
};
