// BitstringStatusListEntry checking shared by verify-di.mjs and verify-jwt.mjs.
// The status list credential itself is fetched through the offline loader and
// its eddsa-rdfc-2022 proof verified by @digitalbazaar/vc-bitstring-status-list.
import * as bsl from '@digitalbazaar/vc-bitstring-status-list';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {describeError} from './common.mjs';

// purposes whose set bit makes the credential invalid
export const INVALIDATING_PURPOSES = new Set(['revocation', 'suspension']);

export function newSuite() {
  return new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
}

export function statusEntries(credential) {
  const cs = credential?.credentialStatus;
  if(cs === undefined || cs === null) {
    return [];
  }
  return Array.isArray(cs) ? cs : [cs];
}

/**
 * Check each credentialStatus entry on its own with the library's checkStatus
 * (given several entries the library fails them all on the first error), so
 * that every entry gets its own result.
 *
 * @param {object} options - Options.
 * @param {object} options.credential - The credential holding the entries.
 * @param {Function} options.documentLoader - Loader for list credentials.
 * @returns {Promise<{verified: boolean, results: object[], errors: string[]}>}
 *   `verified` is false on any error or any set revocation/suspension bit.
 */
export async function checkAllStatuses({credential, documentLoader}) {
  const results = [];
  const errors = [];
  for(const entry of statusEntries(credential)) {
    const item = {
      purpose: entry?.statusPurpose ?? null,
      set: null,
      type: entry?.type ?? null,
      statusListCredential: entry?.statusListCredential ?? null,
      statusListIndex: entry?.statusListIndex ?? null
    };
    results.push(item);
    if(entry?.statusSize !== undefined && Number(entry.statusSize) !== 1) {
      item.error = `statusSize ${entry.statusSize} is not supported by ` +
        '@digitalbazaar/vc-bitstring-status-list (1-bit statuses only)';
      errors.push(`status: ${item.error}`);
      continue;
    }
    const r = await bsl.checkStatus({
      credential: {...credential, credentialStatus: entry},
      documentLoader,
      suite: newSuite(),
      verifyBitstringStatusListCredential: true,
      verifyMatchingIssuers: true
    });
    if(!r.verified) {
      item.error = describeError(r.error);
      errors.push(`status: ${item.purpose ?? '?'} entry ` +
        `(${item.statusListCredential} #${item.statusListIndex}): ` +
        item.error);
      continue;
    }
    item.set = r.results[0].status;
    if(item.set && INVALIDATING_PURPOSES.has(item.purpose)) {
      errors.push(`status: ${item.purpose} bit ${item.statusListIndex} is ` +
        `SET in ${item.statusListCredential} (credential is ` +
        `${item.purpose === 'revocation' ? 'revoked' : 'suspended'})`);
    }
  }
  return {verified: errors.length === 0, results, errors};
}
