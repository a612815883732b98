#!/usr/bin/env node
// Verify a Data Integrity (eddsa-rdfc-2022) credential with the Digital Bazaar
// stack, including BitstringStatusListEntry status. See README.md.
import * as vc from '@digitalbazaar/vc';
import {describeError, loaderOptions, RequestError, runCli} from './common.mjs';
import {checkAllStatuses, newSuite, statusEntries} from './status.mjs';
import {createDocumentLoader} from './loader.mjs';
import jsigs from 'jsonld-signatures';

const DATE_PROPS = /validFrom|validUntil|expirationDate|issuanceDate|has expired/;

function proofErrors(result) {
  // jsigs result: {verified, results: [{proof, verified, error}], error}
  const out = [];
  for(const r of result.results || []) {
    if(!r.verified && r.error) {
      out.push(describeError(r.error));
    }
  }
  if(!out.length && result.error) {
    out.push(describeError(result.error));
  }
  return out.length ? out : ['proof not verified (no reason given)'];
}

async function verify(request) {
  const {credential} = request;
  if(!credential || typeof credential !== 'object' ||
    Array.isArray(credential)) {
    throw new RequestError('"credential" (object) is required');
  }
  const wantStatus = request.checkStatus !== false;
  const documentLoader = createDocumentLoader(loaderOptions(request));
  const {now, maxClockSkew} = request;

  const response = {
    verified: false,
    errors: [],
    checks: {credential: null, proof: null, status: null},
    statusResults: [],
    verificationMethod: null
  };

  let statusOutcome;
  const statusFn = async () => {
    if(!wantStatus) {
      return {verified: true, results: []};
    }
    statusOutcome = await checkAllStatuses({credential, documentLoader});
    return statusOutcome;
  };

  // 1. the verdict of the library, exactly as a DB-stack verifier computes it
  const result = await vc.verifyCredential({
    credential,
    suite: newSuite(),
    documentLoader,
    checkStatus: statusFn,
    ...(now !== undefined ? {now} : {}),
    ...(maxClockSkew !== undefined ? {maxClockSkew} : {})
  });
  const proofRan = Array.isArray(result.results) &&
    result.results.some(r => r && r.proof);

  // 2. attribute the failure: credential checks (shape, dates), proof, status
  try {
    vc._checkCredential({
      credential,
      ...(now !== undefined ? {now: new Date(now)} : {}),
      ...(maxClockSkew !== undefined ? {maxClockSkew} : {})
    });
    response.checks.credential = 'ok';
  } catch(e) {
    response.checks.credential = 'failed';
    const msg = describeError(e);
    response.errors.push(`${DATE_PROPS.test(msg) ? 'expiry' : 'credential'}: ${msg}`);
  }

  let proofResult = result;
  if(!proofRan && response.checks.credential === 'failed') {
    // the library stopped before the proof; check the proof on its own so the
    // caller can tell "expired but authentic" from "forged"
    const copy = {...credential};
    proofResult = await jsigs.verify(copy, {
      suite: newSuite(),
      purpose: new vc.CredentialIssuancePurpose(),
      documentLoader
    });
  } else if(!proofRan && response.checks.credential === 'ok' &&
    !result.verified) {
    // e.g. "A checkStatus function must be given" or no proof at all
    response.errors.push(`proof: ${describeError(result.error)}`);
    response.checks.proof = 'failed';
  }
  if(response.checks.proof === null) {
    // ProofSet semantics: verified when at least one matching proof verified
    const good = (proofResult.results || []).find(r => r && r.verified);
    if(good) {
      response.checks.proof = 'ok';
      response.verificationMethod = good.verificationMethod?.id ?? null;
    } else {
      response.checks.proof = 'failed';
      for(const e of proofErrors(proofResult)) {
        response.errors.push(`proof: ${e}`);
      }
    }
  }

  // 3. status: reuse the run made inside verifyCredential, or run it now
  if(!wantStatus) {
    response.checks.status = 'skipped';
  } else if(statusEntries(credential).length === 0) {
    response.checks.status = 'none';
  } else {
    if(!statusOutcome) {
      statusOutcome = await checkAllStatuses({credential, documentLoader});
    }
    response.statusResults = statusOutcome.results;
    response.checks.status = statusOutcome.verified ? 'ok' : 'failed';
    response.errors.push(...statusOutcome.errors);
  }

  // library verdict and ours must agree; if not, say so and fail closed
  const ours = response.checks.credential === 'ok' &&
    response.checks.proof === 'ok' && response.checks.status !== 'failed';
  response.verified = result.verified === true && ours;
  if(result.verified !== ours) {
    response.errors.push(
      `harness: @digitalbazaar/vc said verified=${result.verified} but the ` +
      `separate checks say ${ours}` +
      (result.error ? ` (library error: ${describeError(result.error)})` : ''));
  }
  if(request.debug) {
    response.loaded = documentLoader.log;
  }
  return response;
}

runCli(verify);
