#!/usr/bin/env node
// Verify a VC-JWT with `jose` (RS256 / ES256 only). See README.md.
import * as jose from 'jose';
import * as vc from '@digitalbazaar/vc';
import {checkAllStatuses, statusEntries} from './status.mjs';
import {describeError, loaderOptions, RequestError, runCli} from './common.mjs';
import {createDocumentLoader} from './loader.mjs';

const ALGORITHMS = ['RS256', 'ES256'];

function idOf(value) {
  if(typeof value === 'string') {
    return value;
  }
  if(value && typeof value === 'object' && typeof value.id === 'string') {
    return value.id;
  }
  return undefined;
}

function keyResolver(request) {
  const {jwks, jwk} = request;
  if(jwks !== undefined && jwk !== undefined) {
    throw new RequestError('give either "jwks" or "jwk", not both');
  }
  if(jwks !== undefined) {
    const set = Array.isArray(jwks) ? {keys: jwks} : jwks;
    if(!set || !Array.isArray(set.keys)) {
      throw new RequestError('"jwks" must be {"keys": [...]} or an array');
    }
    return jose.createLocalJWKSet(set);
  }
  if(jwk !== undefined) {
    if(!jwk || typeof jwk !== 'object') {
      throw new RequestError('"jwk" must be an object');
    }
    return async header => jose.importJWK(jwk, header.alg);
  }
  throw new RequestError('"jwks" or "jwk" is required');
}

async function verify(request) {
  const {jwt} = request;
  if(typeof jwt !== 'string') {
    throw new RequestError('"jwt" (string) is required');
  }
  const key = keyResolver(request);
  const response = {verified: false, header: null, payload: null, errors: []};

  try {
    response.header = jose.decodeProtectedHeader(jwt);
  } catch(e) {
    response.errors.push(`jwt: ${describeError(e)}`);
    return response;
  }
  let unverifiedPayload = null;
  try {
    unverifiedPayload = jose.decodeJwt(jwt);
  } catch(e) {
    response.errors.push(`jwt: ${describeError(e)}`);
    return response;
  }

  const options = {algorithms: ALGORITHMS};
  const {issuer, audience} = request;
  // `iss` is checked by jose when present; a VC-JOSE-COSE (VCDM 2.0) payload
  // may instead carry only the credential's own "issuer" (checked below).
  if(issuer !== undefined && unverifiedPayload.iss !== undefined) {
    options.issuer = issuer;
  }
  if(audience !== undefined) {
    options.audience = audience;
  }
  if(request.typ !== undefined) {
    options.typ = request.typ;
  }
  if(request.currentDate !== undefined) {
    options.currentDate = new Date(request.currentDate);
  }
  if(request.clockTolerance !== undefined) {
    options.clockTolerance = request.clockTolerance;
  }
  if(request.requiredClaims !== undefined) {
    options.requiredClaims = request.requiredClaims;
  }
  if(request.subject !== undefined) {
    // jose refuses the token unless its `sub` claim equals this
    options.subject = request.subject;
  }

  let payload;
  try {
    const result = await jose.jwtVerify(jwt, key, options);
    payload = result.payload;
    response.header = result.protectedHeader;
  } catch(e) {
    response.payload = unverifiedPayload;
    response.errors.push(
      `jwt: ${e.code ? `${e.code}: ` : ''}${describeError(e)}`);
    return response;
  }
  response.payload = payload;

  // the credential: VC 1.1 style `vc` claim, or the payload itself (VCDM 2.0)
  const credential = payload.vc && typeof payload.vc === 'object' ?
    payload.vc : payload;
  if(issuer !== undefined) {
    const credIssuer = idOf(credential.issuer);
    if(payload.iss === undefined && credIssuer === undefined) {
      response.errors.push('issuer: neither "iss" nor a credential "issuer"');
    } else if(credIssuer !== undefined && credIssuer !== issuer) {
      response.errors.push(
        `issuer: credential issuer "${credIssuer}" != expected "${issuer}"`);
    }
  }
  if(request.checkCredential) {
    try {
      vc._checkCredential({
        credential,
        ...(request.currentDate !== undefined ?
          {now: new Date(request.currentDate)} : {})
      });
    } catch(e) {
      response.errors.push(`credential: ${describeError(e)}`);
    }
  }
  if(request.checkStatus && statusEntries(credential).length) {
    const documentLoader = createDocumentLoader(loaderOptions(request));
    const status = await checkAllStatuses({credential, documentLoader});
    response.statusResults = status.results;
    response.errors.push(...status.errors);
  }
  response.verified = response.errors.length === 0;
  return response;
}

runCli(verify);
