// Proof of work (ALTCHA-compatible) for offices that ask for it: fetch a
// challenge, find the number whose SHA-256 with the salt gives it, and send
// the solution in the X-Altcha header. Nothing happens for other offices.
import { api } from './app.js';

const enc = new TextEncoder();

async function sha256hex(s) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(s)));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function solve(ch) {
  const started = Date.now();
  const batch = 500;
  for (let base = 0; base <= ch.maxnumber; base += batch) {
    const nums = [];
    for (let n = base; n < base + batch && n <= ch.maxnumber; n++) nums.push(n);
    const hashes = await Promise.all(nums.map((n) => sha256hex(ch.salt + n)));
    const i = hashes.indexOf(ch.challenge);
    if (i >= 0) return { number: nums[i], took: Date.now() - started };
  }
  return null;
}

/** powHeaders returns the headers a booking or ticket of office needs. */
export async function powHeaders(office) {
  if (!office.proof_of_work) return {};
  const ch = await api('GET', '/api/v1/pow/challenge');
  const found = await solve(ch);
  if (!found) return {};
  const payload = { algorithm: ch.algorithm, challenge: ch.challenge, number: found.number, salt: ch.salt, signature: ch.signature, took: found.took };
  return { 'X-Altcha': btoa(JSON.stringify(payload)) };
}
