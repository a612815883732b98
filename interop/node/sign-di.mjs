#!/usr/bin/env node
// TEST FIXTURE GENERATOR: sign a credential with eddsa-rdfc-2022 using the
// Digital Bazaar stack and a key derived from a 32-byte seed. See README.md.
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import {loaderOptions, RequestError, runCli} from './common.mjs';
import {createDocumentLoader} from './loader.mjs';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';

async function sign(request) {
  const {credential, seed, verificationMethod, controller} = request;
  if(!credential || typeof credential !== 'object' ||
    Array.isArray(credential)) {
    throw new RequestError('"credential" (object) is required');
  }
  if(typeof seed !== 'string' || !/^[0-9a-fA-F]{64}$/.test(seed)) {
    throw new RequestError('"seed" must be 64 hex characters (32 bytes)');
  }
  if(typeof controller !== 'string' || !controller) {
    throw new RequestError('"controller" (string) is required');
  }
  const keyPair = await Ed25519Multikey.generate({
    seed: Uint8Array.from(Buffer.from(seed, 'hex')),
    controller,
    // default id: `${controller}#${publicKeyMultibase}`
    ...(verificationMethod ? {id: verificationMethod} : {})
  });
  const suiteOptions = {signer: keyPair.signer(), cryptosuite: eddsaRdfc2022};
  // "created": ISO string to pin it, null to omit it, absent for "now"
  if(request.created !== undefined) {
    suiteOptions.date = request.created;
  }
  const suite = new DataIntegrityProof(suiteOptions);
  const documentLoader = createDocumentLoader(loaderOptions(request));
  const signed = await vc.issue({
    credential: structuredClone(credential),
    suite,
    documentLoader
  });
  const multikey = await keyPair.export({publicKey: true});
  return {
    credential: signed,
    verificationMethod: keyPair.id,
    publicKeyMultibase: keyPair.publicKeyMultibase,
    // ready to embed in a DID document's "verificationMethod"
    multikey
  };
}

runCli(sign);
