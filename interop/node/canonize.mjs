#!/usr/bin/env node
// Canonicalize a JSON-LD document to RDFC-1.0 N-Quads with jsonld.js, using the
// offline loader. Reference output for differential tests. See README.md.
import {loaderOptions, RequestError, runCli, describeError} from './common.mjs';
import {createDocumentLoader} from './loader.mjs';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import jsonld from 'jsonld';

async function canonize(request) {
  const {document} = request;
  if(document === undefined) {
    throw new RequestError('"document" is required');
  }
  const mode = request.mode ?? 'jsonld';
  if(mode !== 'jsonld' && mode !== 'cryptosuite') {
    throw new RequestError('"mode" must be "jsonld" or "cryptosuite"');
  }
  const documentLoader = createDocumentLoader(loaderOptions(request));
  try {
    let nquads;
    if(mode === 'cryptosuite') {
      // exactly what eddsa-rdfc-2022 hashes when signing/verifying
      nquads = await eddsaRdfc2022.canonize(document, {documentLoader});
    } else {
      // same options the cryptosuite uses, overridable for experiments
      nquads = await jsonld.canonize(document, {
        algorithm: 'RDFC-1.0',
        format: 'application/n-quads',
        safe: request.safe ?? true,
        base: null,
        rdfDirection: request.rdfDirection === undefined ?
          'i18n-datatype' : request.rdfDirection,
        documentLoader
      });
    }
    return {nquads};
  } catch(e) {
    const out = {error: describeError(e)};
    if(e?.name) {
      out.errorName = e.name;
    }
    if(e?.details?.event?.code) {
      out.eventCode = e.details.event.code;
    }
    return out;
  }
}

runCli(canonize);
