// The synthetic data every bulk-matching implementation plans, generated the same way for the
// native Rust, wasm and plain JS runs (benches/matching.rs writes the same text).
//
// Members: user{i}@example.com, linked to contact i except every fifth (no contact).
// Contacts, by j % 10: 0-4 same id and email; 5 same id, the email in mixed case; 6 a new id
// with the email of member j+1 (conflict, or link when that member has no contact); 7 a new id
// and email (created); 8 same id, a changed email (updated); 9 same id and email.
export function membersCsv(n) {
  const rows = ['Id,Email'];
  for (let i = 0; i < n; i++) rows.push(i % 5 === 0 ? `,user${i}@example.com` : `${i},user${i}@example.com`);
  return rows.join('\n');
}

export function contactsCsv(n) {
  const rows = ['Id,Email'];
  for (let j = 0; j < n; j++) {
    switch (j % 10) {
      case 5: rows.push(`${j},User${j}@Example.COM`); break;
      case 6: rows.push(`${n + j},user${j + 1}@example.com`); break;
      case 7: rows.push(`${n + j},new${j}@example.com`); break;
      case 8: rows.push(`${j},changed${j}@example.com`); break;
      default: rows.push(`${j},user${j}@example.com`);
    }
  }
  return rows.join('\n');
}
