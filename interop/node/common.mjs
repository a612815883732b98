// stdin/stdout plumbing shared by the CLI scripts.
//
// Each script reads ONE JSON value from stdin: an object (one request) or an
// array of objects (a batch, answered in order with an array). A verification
// failure is a normal answer. If handling one request throws (bad request or a
// bug here) that item becomes {"error": "...", "harnessError": true} and the
// process exits 3 after printing everything; unreadable input exits 2.

export class RequestError extends Error {}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Flatten an error (with causes, jsonld events, jsigs error lists) into text.
 *
 * @param {*} e - Error or anything thrown.
 * @returns {string} One line describing it.
 */
export function describeError(e) {
  if(e === undefined || e === null) {
    return 'unknown error';
  }
  if(Array.isArray(e)) {
    return e.map(describeError).join('; ');
  }
  if(typeof e !== 'object') {
    return String(e);
  }
  if(Array.isArray(e.errors) && e.errors.length) {
    // jsonld-signatures VerificationError / AggregateError
    return e.errors.map(describeError).join('; ');
  }
  let msg = e.message || String(e);
  const event = e.details?.event;
  if(event) {
    // jsonld safe-mode / validation errors carry the offending event
    let detail = '';
    if(event.details) {
      try {
        detail = ' ' + JSON.stringify(event.details);
      } catch{
        detail = '';
      }
      if(detail.length > 400) {
        detail = detail.slice(0, 400) + '...';
      }
    }
    msg += ` [${e.name}; event ${event.code}: ${event.message}${detail}]`;
  } else if(e.name && e.name.startsWith('jsonld.') && e.details) {
    const {code, url} = e.details;
    msg += ` [${e.name}${code ? `; ${code}` : ''}${url ? `; ${url}` : ''}]`;
    if(e.details.cause && !e.cause) {
      msg += ` (cause: ${describeError(e.details.cause)})`;
    }
  }
  if(typeof e.claim === 'string' && typeof e.reason === 'string') {
    // jose JWTClaimValidationFailed / JWTExpired
    msg += ` (claim "${e.claim}", reason "${e.reason}")`;
  }
  if(e.cause && e.cause !== e &&
    (e.cause instanceof Error || typeof e.cause === 'string' ||
      typeof e.cause?.message === 'string')) {
    const inner = describeError(e.cause);
    if(inner && !msg.includes(inner)) {
      msg += ` (cause: ${inner})`;
    }
  }
  return msg;
}

/**
 * Run a request handler over stdin and print the result(s) to stdout.
 *
 * @param {Function} handler - async (request) => response object.
 */
export async function runCli(handler) {
  let input;
  try {
    const text = await readStdin();
    input = JSON.parse(text);
  } catch(e) {
    process.stderr.write(`interop: stdin is not valid JSON: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  const batch = Array.isArray(input);
  const requests = batch ? input : [input];
  const responses = [];
  let harnessFailures = 0;
  for(const request of requests) {
    try {
      if(request === null || typeof request !== 'object' ||
        Array.isArray(request)) {
        throw new RequestError('each request must be a JSON object');
      }
      responses.push(await handler(request));
    } catch(e) {
      harnessFailures++;
      process.stderr.write(
        `interop: request failed: ${e instanceof RequestError ? e.message :
          (e.stack || e)}\n`);
      responses.push({error: describeError(e), harnessError: true});
    }
  }
  process.stdout.write(JSON.stringify(batch ? responses : responses[0]) + '\n');
  if(harnessFailures) {
    process.exitCode = 3;
  }
}

export function loaderOptions(request) {
  const {documents = {}, allowFetchPrefixes = []} = request;
  return {documents, allowFetchPrefixes};
}
