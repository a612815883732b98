#!/usr/bin/env node
// Expand a JSON-LD document with jsonld.js in safe mode, with the bundled
// contexts only: every term and every type must be defined by the contexts the
// document names (safe mode makes a term or type it cannot map to an absolute
// IRI an error instead of silently dropping it). See README.md.
import {describeError, RequestError, runCli} from './common.mjs';
import {createDocumentLoader} from './loader.mjs';
import jsonld from 'jsonld';

async function expand(request) {
  const {document} = request;
  if(document === null || typeof document !== 'object') {
    throw new RequestError('"document" (object) is required');
  }
  // No `documents`, no fetch prefixes: a context outside the bundle is refused.
  const documentLoader = createDocumentLoader();
  try {
    const expanded = await jsonld.expand(document, {
      safe: true,
      base: null,
      documentLoader
    });
    return {expanded, loaded: documentLoader.log};
  } catch(e) {
    const out = {error: describeError(e), loaded: documentLoader.log};
    if(e?.name) {
      out.errorName = e.name;
    }
    if(e?.details?.event?.code) {
      out.eventCode = e.details.event.code;
    }
    return out;
  }
}

runCli(expand);
