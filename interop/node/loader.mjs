// Offline JSON-LD document loader shared by the interop scripts.
//
// Resolution order for a URL:
//   1. the project's bundled contexts (services/badges/openbadges/reference/contexts.json),
//      exact URL match only;
//   2. the caller's `documents` map (URL or DID -> JSON document);
//   3. an HTTP(S) fetch, but only when the URL starts with one of the caller's
//      `allowFetchPrefixes` (meant for a loopback test server);
// anything else throws.
//
// DIDs: only did:web is resolved. `did:web:host%3Aport:a:b` maps to
// `http(s)://host:port/a/b/did.json` (http only for loopback hosts); a DID URL
// with a `#fragment` resolves to the node with that id inside the DID document
// (verification method first, then any top-level node), returned with an
// `@context` so the Digital Bazaar key libraries accept it.
import {readFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REFERENCE_DIR = resolve(HERE, '../../services/badges/openbadges/reference');
const MULTIKEY_CONTEXT_V1 = 'https://w3id.org/security/multikey/v1';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

let bundled; // url -> absolute file path
const parsedCache = new Map(); // url -> JSON text (re-parsed per use)

function bundledMap() {
  if(!bundled) {
    const index = JSON.parse(
      readFileSync(join(REFERENCE_DIR, 'contexts.json'), 'utf8'));
    bundled = new Map();
    // `contexts.json` nests the URL map under "contexts" (JSON-LD contexts) and
    // "schemas" (JSON Schemas); accept a flat map too.
    const groups = (index.contexts || index.schemas) ?
      [index.contexts || {}, index.schemas || {}] : [index];
    for(const group of groups) {
      for(const [url, rel] of Object.entries(group)) {
        if(url.startsWith('_') || typeof rel !== 'string') {
          continue;
        }
        bundled.set(url, join(REFERENCE_DIR, rel));
      }
    }
  }
  return bundled;
}

/** URLs served from the project's bundle. */
export function bundledUrls() {
  return [...bundledMap().keys()];
}

function loadBundled(url) {
  const path = bundledMap().get(url);
  if(path === undefined) {
    return undefined;
  }
  let text = parsedCache.get(url);
  if(text === undefined) {
    text = readFileSync(path, 'utf8');
    JSON.parse(text); // fail early on a broken file
    parsedCache.set(url, text);
  }
  // fresh copy every time so no caller can mutate the shared one
  return JSON.parse(text);
}

function isLoopbackHost(hostname) {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Map a did:web DID (no fragment/query) to the URL of its DID document.
 *
 * @param {string} did - e.g. did:web:127.0.0.1%3A8000:issuers:abc.
 * @returns {string} e.g. http://127.0.0.1:8000/issuers/abc/did.json.
 */
export function didWebToUrl(did) {
  if(!did.startsWith('did:web:')) {
    throw new Error(`Not a did:web DID: "${did}".`);
  }
  const parts = did.slice('did:web:'.length).split(':');
  if(parts.some(p => p === '')) {
    throw new Error(`Malformed did:web DID: "${did}".`);
  }
  const host = decodeURIComponent(parts[0]);
  if(/[/?#@\s]/.test(host)) {
    throw new Error(`Malformed did:web host in "${did}".`);
  }
  const path = parts.slice(1).map(decodeURIComponent);
  if(path.some(p => p.includes('/') || p === '.' || p === '..')) {
    throw new Error(`Malformed did:web path in "${did}".`);
  }
  const hostname = new URL(`http://${host}/`).hostname;
  const scheme = isLoopbackHost(hostname) ? 'http' : 'https';
  const tail = path.length ? `${path.join('/')}/did.json` : '.well-known/did.json';
  // URL parsing percent-encodes what must be (e.g. a decoded space)
  return new URL(`${scheme}://${host}/${tail}`).href;
}

function splitFragment(url) {
  const i = url.indexOf('#');
  return i === -1 ? [url, ''] : [url.slice(0, i), url.slice(i)];
}

function nodeContext(node, parentContext) {
  if(node['@context'] !== undefined) {
    return node['@context'];
  }
  if(node.type === 'Multikey') {
    return MULTIKEY_CONTEXT_V1;
  }
  return parentContext;
}

/**
 * Find the node whose `id` is `id` inside a controller/DID document.
 *
 * @param {object} doc - Controller document.
 * @param {string} id - Absolute id to look for.
 * @returns {object|undefined} A copy of the node with an `@context`.
 */
export function findNode(doc, id) {
  const matches = n => n && typeof n === 'object' && n.id === id;
  let match;
  if(Array.isArray(doc.verificationMethod)) {
    match = doc.verificationMethod.find(matches);
  }
  if(!match) {
    for(const [key, value] of Object.entries(doc)) {
      if(key === '@context' || key === 'verificationMethod') {
        continue;
      }
      match = Array.isArray(value) ? value.find(matches) :
        (matches(value) ? value : undefined);
      if(match) {
        break;
      }
    }
  }
  if(!match) {
    return undefined;
  }
  const copy = structuredClone(match);
  return {'@context': nodeContext(copy, doc['@context']), ...copy};
}

/**
 * Create a document loader.
 *
 * @param {object} [options] - Options.
 * @param {object} [options.documents] - URL/DID -> JSON document.
 * @param {string[]} [options.allowFetchPrefixes] - URL prefixes that may be
 *   fetched over HTTP(S); end each with "/".
 * @param {number} [options.timeoutMs=10000] - Per-fetch timeout.
 * @returns {Function} async (url) => {contextUrl, documentUrl, document};
 *   `loader.log` lists [url, source] for every successful load.
 */
export function createDocumentLoader({
  documents = {}, allowFetchPrefixes = [], timeoutMs = 10000
} = {}) {
  if(documents === null || typeof documents !== 'object' ||
    Array.isArray(documents)) {
    throw new TypeError('"documents" must be an object (URL -> document).');
  }
  if(!Array.isArray(allowFetchPrefixes) ||
    allowFetchPrefixes.some(p => typeof p !== 'string' ||
      !/^https?:\/\/[^/]+\//.test(p))) {
    throw new TypeError(
      '"allowFetchPrefixes" must be an array of http(s) URL prefixes that ' +
      'include the path\'s leading "/", e.g. "http://127.0.0.1:8000/".');
  }
  const fetched = new Map(); // url -> Promise<document>
  const log = [];

  const fromMap = url => Object.prototype.hasOwnProperty.call(documents, url) ?
    structuredClone(documents[url]) : undefined;

  async function fetchJson(url) {
    if(!allowFetchPrefixes.some(p => url.startsWith(p))) {
      return undefined;
    }
    if(!fetched.has(url)) {
      fetched.set(url, (async () => {
        let res;
        try {
          res = await fetch(url, {
            headers: {accept: 'application/ld+json, application/json'},
            redirect: 'error',
            signal: AbortSignal.timeout(timeoutMs)
          });
        } catch(e) {
          throw new Error(`Fetching "${url}" failed: ${e.cause?.message || e.message}`);
        }
        if(!res.ok) {
          throw new Error(`Fetching "${url}" failed: HTTP ${res.status}.`);
        }
        const text = await res.text();
        try {
          return JSON.parse(text);
        } catch(e) {
          throw new Error(`"${url}" did not return JSON: ${e.message}`);
        }
      })());
    }
    return structuredClone(await fetched.get(url));
  }

  // a whole document (no fragment) from the map or the network
  async function getDocument(key, url, source) {
    let doc = fromMap(key);
    if(doc !== undefined) {
      log.push([key, 'documents']);
      return doc;
    }
    if(url !== key) {
      doc = fromMap(url);
      if(doc !== undefined) {
        log.push([url, 'documents']);
        return doc;
      }
    }
    doc = await fetchJson(url);
    if(doc !== undefined) {
      log.push([url, 'fetch']);
      return doc;
    }
    throw new Error(
      `Document loader refused "${source}": not a bundled context, not in ` +
      '"documents", and not under any "allowFetchPrefixes".');
  }

  async function resolveDid(didUrl) {
    if(!didUrl.startsWith('did:web:')) {
      throw new Error(
        `Document loader refused "${didUrl}": only did:web is supported ` +
        '(or put the exact DID URL in "documents").');
    }
    const [withQuery, fragment] = splitFragment(didUrl);
    const did = withQuery.split('?')[0];
    const doc = await getDocument(did, didWebToUrl(did), didUrl);
    if(!doc || doc.id !== did) {
      throw new Error(
        `DID document for "${did}" has id "${doc?.id}"; they must be equal.`);
    }
    if(!fragment) {
      return doc;
    }
    const node = findNode(doc, did + fragment);
    if(!node) {
      throw new Error(`"${didUrl}" not found in the DID document of "${did}".`);
    }
    return node;
  }

  async function resolveHttp(url) {
    const [base, fragment] = splitFragment(url);
    if(!fragment) {
      return getDocument(url, url, url);
    }
    const doc = await getDocument(base, base, url);
    if(doc && doc.id === url) {
      return doc;
    }
    const node = doc && typeof doc === 'object' ? findNode(doc, url) : undefined;
    if(!node) {
      throw new Error(`"${url}" not found in the document at "${base}".`);
    }
    return node;
  }

  async function documentLoader(url) {
    if(typeof url !== 'string' || url === '') {
      throw new Error(
        `Document loader was asked for a non-URL (${JSON.stringify(url)}); ` +
        'e.g. a verification method without "controller".');
    }
    let document = loadBundled(url);
    if(document !== undefined) {
      log.push([url, 'bundled']);
    } else {
      // exact key in `documents` wins (also for DID URLs with fragments)
      document = fromMap(url);
      if(document !== undefined) {
        log.push([url, 'documents']);
      } else if(url.startsWith('did:')) {
        document = await resolveDid(url);
      } else if(/^https?:\/\//.test(url)) {
        document = await resolveHttp(url);
      } else {
        throw new Error(`Document loader refused "${url}": unsupported scheme.`);
      }
    }
    return {contextUrl: null, documentUrl: url, document};
  }
  documentLoader.log = log;
  return documentLoader;
}
