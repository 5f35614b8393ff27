// The pb_hooks API on the JavaScript side: evaluated into every fresh context before any
// hook code, on top of the node's natives (`__native`, see natives.rs). Everything a hook
// sees of PocketBase (console, the error classes, Record, $app, $apis, require, the request
// event) is defined here; the natives only read the node's state and log.
//
// Two entry points are left on `__edgebase` for the Rust side: `load` runs one hooks file
// and returns what it registered, `route` runs a custom route's chain for one request.
(function (native) {
  const g = globalThis;

  // ---- console -------------------------------------------------------------------------
  const show = (value) => {
    if (typeof value === "string") return value;
    if (value instanceof Error) return value.stack ? `${value}\n${value.stack}` : String(value);
    try {
      const text = JSON.stringify(value);
      return text === undefined ? String(value) : text;
    } catch (_) {
      return String(value);
    }
  };
  const logAt = (level) => (...values) => native.log(level, values.map(show).join(" "));
  g.console = {
    log: logAt("info"),
    info: logAt("info"),
    warn: logAt("warn"),
    error: logAt("error"),
    debug: logAt("debug"),
  };

  // ---- errors, as PocketBase's router shapes them ------------------------------------------
  // "hello world" -> "Hello world." (PocketBase's inflector.Sentenize).
  const sentenize = (text) => {
    const trimmed = String(text ?? "").trim();
    if (trimmed === "") return "";
    const first = trimmed[0].toUpperCase() + trimmed.slice(1);
    return /[.!?]$/.test(first) ? first : first + ".";
  };

  class ValidationError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code || "validation_invalid_value";
      this.message = message || "Invalid value.";
    }
  }

  // The `data` of an error answer: nested objects stay objects, validation errors keep their
  // code and message, anything else becomes PocketBase's generic item.
  const safeData = (data) => {
    const out = {};
    if (data === null || typeof data !== "object" || Array.isArray(data)) return out;
    for (const [name, item] of Object.entries(data)) {
      if (item instanceof ValidationError) {
        out[name] = { code: item.code, message: sentenize(item.message) };
      } else if (item !== null && typeof item === "object" && !Array.isArray(item) && !(item instanceof Error)) {
        out[name] = safeData(item);
      } else {
        out[name] = { code: "validation_invalid_value", message: "Invalid value." };
      }
    }
    return out;
  };

  class ApiError extends Error {
    constructor(status, message, data) {
      const statusCode = Number(status) || 500;
      super(message);
      this.status = statusCode;
      this.message = sentenize(message || defaultMessages[statusCode] || "Something went wrong.");
      this.data = safeData(data);
    }
  }
  const defaultMessages = {
    400: "Something went wrong while processing your request.",
    401: "Missing or invalid authentication.",
    403: "You are not allowed to perform this request.",
    404: "The requested resource wasn't found.",
    429: "Too Many Requests.",
    500: "Something went wrong while processing your request.",
  };
  const errorClass = (status) =>
    class extends ApiError {
      constructor(message, data) {
        super(status, message, data);
      }
    };
  const BadRequestError = errorClass(400);
  const UnauthorizedError = errorClass(401);
  const ForbiddenError = errorClass(403);
  const NotFoundError = errorClass(404);
  const TooManyRequestsError = errorClass(429);
  const InternalServerError = errorClass(500);
  Object.assign(g, {
    ApiError,
    BadRequestError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    InternalServerError,
    ValidationError,
  });

  // A missing row, as PocketBase's finds report it (and its router answers with a 404).
  const NO_ROWS = "sql: no rows in result set";
  class NoRowsError extends Error {
    constructor() {
      super(NO_ROWS);
    }
  }

  // What a thrown value answers: an ApiError as it is, a missing row as 404, anything else
  // as PocketBase's generic 400 (the cause goes to the node's log).
  const toFailure = (thrown) => {
    // Running out of memory is the call's limit, whoever caught it (the native makes the
    // call end as stopped, not as a 400).
    if (thrown instanceof Error && thrown.name === "InternalError" && /out of memory/i.test(thrown.message)) {
      native.outOfMemory();
    }
    if (thrown instanceof ApiError) {
      return { status: thrown.status, message: thrown.message, data: thrown.data };
    }
    if (thrown instanceof NoRowsError) {
      return { status: 404, message: defaultMessages[404], data: {}, cause: NO_ROWS };
    }
    return { status: 400, message: defaultMessages[400], data: {}, cause: show(thrown) };
  };

  // ---- records and collections ---------------------------------------------------------
  class Collection {
    constructor(data) {
      Object.assign(this, data);
    }
    isAuth() {
      return this.type === "auth";
    }
    isBase() {
      return this.type === "base";
    }
    isView() {
      return this.type === "view";
    }
  }

  const SYSTEM_FIELDS = new Set(["collectionId", "collectionName", "expand"]);
  class Record {
    constructor(collection, data) {
      const loaded = collection instanceof Collection ? collection : null;
      Object.defineProperty(this, "__collection", { value: loaded, writable: true });
      Object.defineProperty(this, "__data", { value: {}, writable: true });
      Object.defineProperty(this, "__expand", { value: {}, writable: true });
      // A record made by hook code is new until saved; one read from the store is not.
      Object.defineProperty(this, "__isNew", { value: true, writable: true });
      if (data && typeof data === "object") this.load(data);
    }
    isNew() {
      return this.__isNew;
    }
    markAsNew() {
      this.__isNew = true;
    }
    markAsNotNew() {
      this.__isNew = false;
    }
    get id() {
      return this.__data.id ?? "";
    }
    set id(value) {
      this.__data.id = value;
    }
    collection() {
      return this.__collection;
    }
    tableName() {
      return this.__collection ? this.__collection.name : "";
    }
    load(data) {
      for (const [key, value] of Object.entries(data)) {
        if (key === "expand" && value && typeof value === "object") this.__expand = value;
        else if (!SYSTEM_FIELDS.has(key)) this.__data[key] = value;
      }
    }
    get(field) {
      return this.__data[field];
    }
    set(field, value) {
      this.__data[field] = value;
    }
    setPassword(password) {
      this.__data.password = String(password);
    }
    setEmail(email) {
      this.__data.email = String(email);
    }
    setVerified(verified) {
      this.__data.verified = !!verified;
    }
    fieldsData() {
      return { ...this.__data };
    }
    getString(field) {
      const value = this.__data[field];
      return value === undefined || value === null ? "" : typeof value === "string" ? value : show(value);
    }
    getInt(field) {
      const value = Number(this.__data[field]);
      return Number.isFinite(value) ? Math.trunc(value) : 0;
    }
    getFloat(field) {
      const value = Number(this.__data[field]);
      return Number.isFinite(value) ? value : 0;
    }
    getBool(field) {
      const value = this.__data[field];
      return value === true || value === 1 || value === "true" || value === "1";
    }
    getStringSlice(field) {
      const value = this.__data[field];
      if (Array.isArray(value)) return value.map(String);
      return value === undefined || value === null || value === "" ? [] : [String(value)];
    }
    expandedOne(relation) {
      const value = this.__expand[relation];
      return value && !Array.isArray(value) ? recordOf(value) : null;
    }
    expandedAll(relation) {
      const value = this.__expand[relation];
      return Array.isArray(value) ? value.map(recordOf) : value ? [recordOf(value)] : [];
    }
    email() {
      return this.getString("email");
    }
    verified() {
      return this.getBool("verified");
    }
    isSuperuser() {
      return this.tableName() === "_superusers";
    }
    publicExport() {
      const out = { ...this.__data };
      delete out.password;
      delete out.tokenKey;
      if (this.__collection) {
        out.collectionId = this.__collection.id;
        out.collectionName = this.__collection.name;
      }
      if (Object.keys(this.__expand).length) out.expand = this.__expand;
      return out;
    }
    toJSON() {
      return this.publicExport();
    }
  }
  g.Record = Record;
  g.Collection = Collection;

  const collectionCache = new Map();
  const collectionOf = (nameOrId) => {
    if (nameOrId instanceof Collection) return nameOrId;
    const key = String(nameOrId);
    if (!collectionCache.has(key)) {
      const found = native.findCollection(key);
      if (found == null) throw new NoRowsError();
      collectionCache.set(key, new Collection(JSON.parse(found)));
    }
    return collectionCache.get(key);
  };
  // A stored record's JSON (with collectionId) as a Record.
  function recordOf(data) {
    let collection = null;
    try {
      collection = data.collectionId ? collectionOf(data.collectionId) : null;
    } catch (_) {
      collection = null;
    }
    const record = new Record(collection, data);
    record.__isNew = false;
    return record;
  }

  // An error answer that came back through a native ({status, message, data}) as the
  // ApiError a hook can catch.
  const apiErrorOf = (failure) => {
    const error = new ApiError(failure.status);
    error.message = failure.message;
    error.data = failure.data || {};
    return error;
  };

  // ---- $app: reads of this node's state ----------------------------------------------------
  const paramsJson = (params) => JSON.stringify(params && typeof params === "object" ? params : {});
  const $app = {
    findCollectionByNameOrId(nameOrId) {
      return collectionOf(nameOrId);
    },
    findRecordById(collection, id) {
      const found = native.findRecordById(collectionOf(collection).id, String(id));
      if (found == null) throw new NoRowsError();
      return recordOf(JSON.parse(found));
    },
    findRecordsByIds(collection, ids) {
      const out = [];
      for (const id of ids || []) {
        const found = native.findRecordById(collectionOf(collection).id, String(id));
        if (found != null) out.push(recordOf(JSON.parse(found)));
      }
      return out;
    },
    findRecordsByFilter(collection, filter, sort, limit, offset, params) {
      const found = native.findRecordsByFilter(
        collectionOf(collection).id,
        String(filter ?? ""),
        String(sort ?? ""),
        Number(limit) || 0,
        Number(offset) || 0,
        paramsJson(params),
      );
      return JSON.parse(found).map(recordOf);
    },
    findFirstRecordByFilter(collection, filter, params) {
      const found = $app.findRecordsByFilter(collection, filter, "", 1, 0, params);
      if (found.length === 0) throw new NoRowsError();
      return found[0];
    },
    findFirstRecordByData(collection, field, value) {
      return $app.findFirstRecordByFilter(collection, `${field} = {:value}`, { value });
    },
    findAllRecords(collection) {
      return $app.findRecordsByFilter(collection, "", "", 0, 0);
    },
    // PocketBase takes dbx expressions here ($dbx below), not a filter.
    countRecords(collection, ...expressions) {
      const { filter, params } = $dbx.and(...expressions);
      return native.countRecords(collectionOf(collection).id, filter, paramsJson(params));
    },
    findAuthRecordByEmail(collection, email) {
      return $app.findFirstRecordByFilter(collection, "email = {:email}", { email });
    },
    isDev() {
      return false;
    },
    // Writes: each belongs to a transaction (a lone save or delete is one of its own),
    // planned with its model hooks when asked for and proposed as one command at the end.
    save(record) {
      return inTransaction((tx) => tx.save(record));
    },
    delete(record) {
      return inTransaction((tx) => tx.delete(record));
    },
    runInTransaction(fn) {
      return inTransaction(fn);
    },
    newMailClient() {
      return { send: (message) => native.sendMail(JSON.stringify(message || {})) };
    },
    // EdgeBase's: a push, email or SMS into the messaging outbox (see POST /api/messages).
    sendMessage(message) {
      const answer = JSON.parse(native.sendMessage(JSON.stringify(message || {})));
      if (answer.failure) throw apiErrorOf(answer.failure);
      return answer.message;
    },
  };
  g.$app = $app;

  // ---- mail -----------------------------------------------------------------------------
  // PocketBase's mailer.Message: from, to (addresses), subject, html, text.
  class MailerMessage {
    constructor(data) {
      Object.assign(this, { from: {}, to: [], bcc: [], cc: [], subject: "", html: "", text: "" }, data || {});
    }
  }
  g.MailerMessage = MailerMessage;
  const recordMail = (kind, record, extra) => {
    if (!(record instanceof Record) || !record.collection()) throw new TypeError("expected a Record");
    native.mailRecord(kind, record.collection().id, record.id, JSON.stringify(extra || {}));
    return null;
  };
  g.$mails = {
    sendRecordVerification: (app, record) => recordMail("verification", record),
    sendRecordPasswordReset: (app, record) => recordMail("passwordReset", record),
    sendRecordChangeEmail: (app, record, newEmail) => recordMail("emailChange", record, { newEmail: String(newEmail) }),
    sendRecordOTP: (app, record, otpId, password) =>
      recordMail("otp", record, { otpId: String(otpId), password: String(password) }),
    sendRecordAuthAlert: (app, record, info) => recordMail("authAlert", record, { info: String(info ?? "") }),
  };

  // How often a transaction runs again when what it read changed before it committed.
  const TX_ATTEMPTS_MAX = 5;
  let openTx = null;
  const txWrite = (record, remove) => {
    if (!(record instanceof Record)) throw new TypeError("expected a Record");
    const collection = record.collection();
    if (!collection) throw new Error("the record has no collection");
    const answer = JSON.parse(
      native.txWrite(
        JSON.stringify({ collection: collection.id, delete: !!remove, isNew: record.isNew(), record: record.__data }),
      ),
    );
    if (answer.failure) throw apiErrorOf(answer.failure);
    if (answer.stopped) return null;
    if (!remove) {
      record.load(answer.record || {});
      record.__isNew = false;
    }
    return null;
  };
  function inTransaction(fn) {
    if (typeof fn !== "function") throw new TypeError("runInTransaction needs a function");
    // A transaction inside a transaction is the same one, as in PocketBase.
    if (openTx) return fn(openTx);
    for (let attempt = 1; ; attempt++) {
      native.txBegin();
      const txApp = Object.assign(Object.create(null), $app, {
        save: (record) => txWrite(record, false),
        delete: (record) => txWrite(record, true),
        runInTransaction: (inner) => inner(txApp),
      });
      openTx = txApp;
      let result;
      try {
        result = fn(txApp);
      } catch (thrown) {
        openTx = null;
        native.txAbort(show(thrown));
        throw thrown;
      }
      openTx = null;
      const answer = JSON.parse(native.txCommit());
      if (answer.failure) throw apiErrorOf(answer.failure);
      if (!answer.stale) return result === undefined ? null : result;
      if (attempt >= TX_ATTEMPTS_MAX) {
        throw new ApiError(503, "The records changed concurrently too many times; retry.");
      }
    }
  }

  // ---- $dbx: the expressions PocketBase's finds take ---------------------------------------
  // EdgeBase has no SQL: an expression is a filter. `exp` reads simple SQL conditions (column
  // comparisons joined by AND/OR, `{:name}` placeholders) as the filter language writes
  // them; `hashExp` is equality on every key.
  let hashParam = 0;
  const expression = (filter, params) => ({ __dbx: true, filter, params: params || {} });
  const joined = (operator, parts) => {
    const used = parts.filter((part) => part && part.__dbx && part.filter.trim() !== "");
    if (used.length === 0) return expression("", {});
    const params = Object.assign({}, ...used.map((part) => part.params));
    return expression(used.map((part) => `(${part.filter})`).join(` ${operator} `), params);
  };
  const $dbx = {
    exp: (sql, params) =>
      expression(String(sql).replace(/\bAND\b/gi, "&&").replace(/\bOR\b/gi, "||"), params),
    hashExp: (values) => {
      const params = {};
      const terms = Object.entries(values || {}).map(([column, value]) => {
        const name = `__hash${hashParam++}`;
        params[name] = value;
        return `${column} = {:${name}}`;
      });
      return expression(terms.join(" && "), params);
    },
    and: (...parts) => joined("&&", parts),
    or: (...parts) => joined("||", parts),
  };
  g.$dbx = $dbx;

  // ---- $apis: the middlewares PocketBase offers to routes ----------------------------------
  const builtin = (name, args) => ({ __builtin: name, args });
  g.$apis = {
    requireAuth: (...collections) => builtin("requireAuth", collections),
    requireSuperuserAuth: () => builtin("requireAuth", ["_superusers"]),
    requireSuperuserOrOwnerAuth: (param) => builtin("requireSuperuserOrOwnerAuth", [param || "id"]),
    requireGuestOnly: () => builtin("requireGuestOnly", []),
  };
  const builtins = {
    requireAuth: (collections) => (e) => {
      if (!e.auth) throw new UnauthorizedError("The request requires valid record authorization token.");
      if (collections.length && !collections.includes(e.auth.tableName())) {
        throw new ForbiddenError("The authorized record is not allowed to perform this action.");
      }
      return e.next();
    },
    requireSuperuserOrOwnerAuth: ([param]) => (e) => {
      if (!e.auth) throw new UnauthorizedError("The request requires superuser or record authorization token.");
      if (e.auth.isSuperuser()) return e.next();
      if (e.auth.id !== e.request.pathValue(param)) throw new ForbiddenError("You are not allowed to perform this request.");
      return e.next();
    },
    requireGuestOnly: () => (e) => {
      if (e.auth) throw new BadRequestError("The request can be accessed only by guests.");
      return e.next();
    },
  };

  // ---- require(): CommonJS files of the hooks bundle ---------------------------------------
  const modules = new Map();
  g.require = (path) => {
    const name = String(path);
    if (modules.has(name)) return modules.get(name).exports;
    const source = native.readModule(name);
    if (source == null) throw new Error(`require: no module ${name} in the hooks folder`);
    const module = { exports: {} };
    modules.set(name, module);
    if (/\.json$/.test(name)) {
      module.exports = JSON.parse(source);
      return module.exports;
    }
    const wrapped = native.evalScript(`(function (module, exports, require) {\n${source}\n})`, name);
    wrapped(module, module.exports, g.require);
    return module.exports;
  };
  // ---- $security --------------------------------------------------------------------------
  g.$security = {
    randomString: (length) => native.randomString(Number(length) || 0),
    randomStringWithAlphabet: (length, alphabet) => native.randomString(Number(length) || 0, String(alphabet)),
    pseudorandomString: (length) => native.randomString(Number(length) || 0),
    pseudorandomStringWithAlphabet: (length, alphabet) => native.randomString(Number(length) || 0, String(alphabet)),
    md5: (text) => native.hash("md5", String(text)),
    sha256: (text) => native.hash("sha256", String(text)),
    sha512: (text) => native.hash("sha512", String(text)),
    hs256: (text, secret) => native.hmac("sha256", String(text), String(secret)),
    hs512: (text, secret) => native.hmac("sha512", String(text), String(secret)),
    equal: (a, b) => native.equal(String(a), String(b)),
    createJWT: (payload, secret, durationSecs) =>
      native.createJWT(JSON.stringify(payload || {}), String(secret), Number(durationSecs) || 0),
    parseJWT: (token, secret) => JSON.parse(native.parseJWT(String(token), String(secret))),
    parseUnverifiedJWT: (token) => JSON.parse(native.parseJWT(String(token))),
  };

  // ---- $http -----------------------------------------------------------------------------
  g.$http = {
    send(config) {
      const settings = Object.assign({}, config || {});
      if (settings.body !== undefined && typeof settings.body !== "string") settings.body = String(settings.body);
      if (settings.headers) settings.headers = Object.fromEntries(Object.entries(settings.headers).map(([k, v]) => [k, String(v)]));
      return JSON.parse(native.httpSend(JSON.stringify(settings)));
    },
  };
  // PocketBase's helper for byte arrays (such as $http.send's body).
  g.toString = (value) => {
    if (Array.isArray(value)) {
      let text = "";
      for (const byte of value) text += String.fromCharCode(byte);
      try {
        return decodeURIComponent(escape(text));
      } catch (_) {
        return text;
      }
    }
    return value === undefined || value === null ? "" : String(value);
  };

  // cronAdd/cronRemove called at run time (in a route, a hook, a job) change the cluster's
  // jobs; while a file loads, its registrations take their place.
  g.cronAdd = (id, expression, handler) =>
    native.cronChange(JSON.stringify({ op: "add", id: String(id), expression: String(expression), handler: fnSource("cronAdd's handler", handler) }));
  g.cronRemove = (id) => native.cronChange(JSON.stringify({ op: "remove", id: String(id) }));

  g.__hooks = native.hooksDir();
  g.sleep = (ms) => native.sleep(Number(ms) || 0);

  // ---- loading a file: what it registers -----------------------------------------------------
  const fnSource = (what, fn) => {
    if (typeof fn !== "function") throw new TypeError(`${what} must be a function`);
    return fn.toString();
  };
  const middlewareOf = (mw) => {
    if (typeof mw === "function") return { source: mw.toString() };
    if (mw && typeof mw === "object" && mw.__builtin) return { builtin: mw.__builtin, args: mw.args };
    if (mw && typeof mw === "object" && typeof mw.func === "function") {
      return { source: mw.func.toString(), priority: Number(mw.priority) || 0 };
    }
    throw new TypeError("a middleware must be a function or one of $apis' middlewares");
  };
  const registry = { routes: [], middlewares: [], hooks: [], crons: [], cronRemovals: [] };
  const registration = {
    routerAdd(method, path, handler, ...middlewares) {
      registry.routes.push({
        method: String(method).toUpperCase(),
        path: String(path),
        handler: fnSource("routerAdd's handler", handler),
        middlewares: middlewares.map(middlewareOf),
      });
    },
    routerUse(...middlewares) {
      registry.middlewares.push(...middlewares.map(middlewareOf));
    },
    cronAdd(id, expression, handler) {
      registry.crons.push({ id: String(id), expression: String(expression), handler: fnSource("cronAdd's handler", handler) });
    },
    cronRemove(id) {
      registry.cronRemovals.push(String(id));
    },
  };
  for (const event of native.hookEvents()) {
    // Tags are collection names; EdgeBase also takes an options object among them
    // ({ atLeastOnce: true } on an after-success hook: delivered through the outbox).
    registration[event] = (handler, ...tags) => {
      const options = Object.assign({}, ...tags.filter((tag) => tag && typeof tag === "object"));
      registry.hooks.push({
        event,
        handler: fnSource(`${event}'s handler`, handler),
        tags: tags.filter((tag) => !(tag && typeof tag === "object")).map(String),
        atLeastOnce: !!options.atLeastOnce && /^onRecordAfter.*Success$/.test(event),
      });
    };
  }

  // ---- the request event of a custom route ---------------------------------------------------
  const headerMap = (pairs) => {
    const lower = new Map();
    for (const [name, value] of pairs) {
      const key = name.toLowerCase();
      lower.set(key, lower.has(key) ? `${lower.get(key)}, ${value}` : value);
    }
    return lower;
  };
  const requestEvent = (req, pathValues) => {
    const headers = headerMap(req.headers);
    const query = new Map();
    for (const [key, value] of req.query) if (!query.has(key)) query.set(key, value);
    const auth = req.auth ? recordOf(req.auth) : null;
    const response = { status: 0, headers: [], contentType: "", body: null, written: false };
    const write = (status, contentType, body) => {
      if (response.written) throw new Error("the response was already written");
      Object.assign(response, { status: Number(status) || 200, contentType, body, written: true });
      return null;
    };
    let parsedBody;
    const body = () => {
      if (parsedBody !== undefined) return parsedBody;
      parsedBody = {};
      if (req.data && typeof req.data === "object") {
        parsedBody = req.data;
        return parsedBody;
      }
      const type = headers.get("content-type") || "";
      if (req.body && /json/i.test(type)) {
        try {
          parsedBody = JSON.parse(req.body);
        } catch (_) {
          throw new BadRequestError("Failed to read the request body.");
        }
      } else if (req.form) {
        for (const [key, value] of req.form) parsedBody[key] = value;
      }
      return parsedBody;
    };
    const e = {
      app: $app,
      auth,
      request: {
        method: req.method,
        host: headers.get("host") || "",
        remoteAddr: req.remoteIp,
        url: {
          path: req.path,
          rawQuery: req.rawQuery,
          query: () => ({ get: (key) => query.get(key) ?? "", has: (key) => query.has(key) }),
          string: () => (req.rawQuery ? `${req.path}?${req.rawQuery}` : req.path),
        },
        header: { get: (name) => headers.get(String(name).toLowerCase()) ?? "" },
        pathValue: (name) => pathValues[name] ?? "",
      },
      response: {
        header: () => ({
          set: (name, value) => response.headers.push([String(name), String(value)]),
          add: (name, value) => response.headers.push([String(name), String(value)]),
        }),
      },
      requestInfo: () => ({
        method: req.method,
        query: Object.fromEntries(query),
        headers: Object.fromEntries([...headers].map(([k, v]) => [k.replace(/-/g, "_"), v])),
        body: body(),
        auth,
        context: "default",
      }),
      hasSuperuserAuth: () => !!auth && auth.isSuperuser(),
      isTLS: () => false,
      realIP: () => req.remoteIp,
      remoteIP: () => req.remoteIp,
      json: (status, data) => write(status, "application/json", JSON.stringify(data === undefined ? null : data)),
      string: (status, text) => write(status, "text/plain; charset=utf-8", String(text)),
      html: (status, html) => write(status, "text/html; charset=utf-8", String(html)),
      noContent: (status) => write(status, "", null),
      redirect: (status, url) => {
        response.headers.push(["Location", String(url)]);
        return write(status, "", null);
      },
      error: (status, message, data) => new ApiError(status, message, data),
      badRequestError: (message, data) => new BadRequestError(message, data),
      notFoundError: (message, data) => new NotFoundError(message, data),
      forbiddenError: (message, data) => new ForbiddenError(message, data),
      unauthorizedError: (message, data) => new UnauthorizedError(message, data),
      tooManyRequestsError: (message, data) => new TooManyRequestsError(message, data),
      internalServerError: (message, data) => new InternalServerError(message, data),
      next: () => null,
    };
    return { e, response };
  };

  // Run `chain` (middlewares then the handler) for one request: each link reaches the next
  // through e.next(); a link that returns an error value fails the request as if it threw.
  const runChain = (e, links) => {
    let position = -1;
    const step = () => {
      position += 1;
      if (position >= links.length) return null;
      const result = links[position](e);
      if (result instanceof Error) throw result;
      return result;
    };
    e.next = () => step();
    return step();
  };

  const linkOf = (spec, name) => {
    if (spec.builtin) {
      const make = builtins[spec.builtin];
      if (!make) throw new Error(`unknown middleware ${spec.builtin}`);
      return make(spec.args || []);
    }
    return native.evalScript(`(${spec.source})`, name);
  };

  // An event hook's chain (onBootstrap and the like): each handler reaches the next through
  // e.next(); whether the last one was reached.
  // Handlers kept as source text, compiled in this context (named for stack traces).
  const compileHandlers = (sources, name) =>
    sources.map((source, i) => native.evalScript(`(${source})`, `${name}#${i}`));

  // A request hook's chain: the handlers, then `defaultAction`; the answer a handler wrote
  // (if any) and whether the default action ran, or the failure.
  const runRequestChain = (e, response, sourcesJson, name, defaultAction) => {
    let continued = false;
    const last = () => {
      continued = true;
      return defaultAction();
    };
    try {
      runChain(e, [...compileHandlers(JSON.parse(sourcesJson), name), last]);
    } catch (thrown) {
      return JSON.stringify({ failure: toFailure(thrown), continued });
    }
    return JSON.stringify({ response: response.written ? response : null, continued });
  };

  const runEvent = (e, sources, name) => {
    const links = compileHandlers(sources, name);
    let completed = false;
    runChain(e, [...links, () => {
      completed = true;
      return null;
    }]);
    return completed;
  };

  g.__edgebase = {
    // Run one hooks file with the registration functions in scope; what it registered.
    loadFile(name, source) {
      Object.assign(g, registration);
      native.evalScript(source, name);
      return JSON.stringify(registry);
    },
    route(requestJson, chainJson) {
      const req = JSON.parse(requestJson);
      const chain = JSON.parse(chainJson);
      const { e, response } = requestEvent(req, chain.pathValues);
      try {
        const links = chain.links.map((spec, i) => linkOf(spec, `${chain.name}#${i}`));
        runChain(e, links);
      } catch (thrown) {
        return JSON.stringify({ failure: toFailure(thrown) });
      }
      return JSON.stringify({ response });
    },
    // A cronAdd job's run: its handler with the run's id and scheduled minute (EdgeBase's
    // addition; PocketBase passes nothing, so handlers written for it ignore it).
    cron(name, source, runJson) {
      try {
        const handler = native.evalScript(`(${source})`, name);
        handler(JSON.parse(runJson));
        return JSON.stringify({ completed: true });
      } catch (thrown) {
        return JSON.stringify({ failure: toFailure(thrown) });
      }
    },
    // A request hook (onRecordCreateRequest and the like): the handlers, then the default
    // action (native.next: write the event's record), chained by e.next().
    recordRequest(name, sourcesJson, eventJson) {
      const event = JSON.parse(eventJson);
      const { e, response } = requestEvent(event.request, {});
      e.collection = new Collection(event.collection);
      e.record = new Record(e.collection, event.record);
      // An auth request's own fields (e.identity, e.password), as PocketBase names them.
      Object.assign(e, event.extra || {});
      // The default action's answer, or its failure, is the request's unless a handler
      // answered instead.
      const defaultAction = () => {
        // The default action gets the record, or the event's fields it names (such as a
        // realtime subscription's e.subscriptions).
        const sent = event.nextSends
          ? Object.fromEntries(event.nextSends.map((key) => [key, e[key]]))
          : e.record.__data;
        const answer = JSON.parse(native.next(JSON.stringify(sent)));
        if (answer.failure) throw apiErrorOf(answer.failure);
        e.record.load(answer.record || {});
        return null;
      };
      return runRequestChain(e, response, sourcesJson, name, defaultAction);
    },
    // A read request hook (onRecordsListRequest, onRecordViewRequest): the handlers see the
    // records the API found (e.records and e.result, or e.record) and may change them; the
    // default action answers them as JSON.
    readRequest(name, sourcesJson, eventJson) {
      const event = JSON.parse(eventJson);
      const { e, response } = requestEvent(event.request, {});
      e.collection = new Collection(event.collection);
      const found = (data) => {
        const record = new Record(e.collection, data);
        record.__isNew = false;
        return record;
      };
      let answer;
      if (event.result) {
        e.result = event.result;
        e.records = (event.result.items || []).map(found);
        answer = () => Object.assign(e.result, { items: e.records });
      } else if (event.auth) {
        // onRecordAuthRequest: a sign-in's answer.
        e.record = found(event.auth.record || {});
        e.token = event.auth.token;
        e.meta = event.auth.meta ?? null;
        e.authMethod = event.auth.authMethod;
        answer = () => {
          const body = { token: e.token, record: e.record };
          if (e.meta != null) body.meta = e.meta;
          return body;
        };
      } else {
        e.record = found(event.record);
        answer = () => e.record;
      }
      const defaultAction = () => {
        e.json(200, answer());
        return null;
      };
      return runRequestChain(e, response, sourcesJson, name, defaultAction);
    },
    // onMailerRecord*Send: the handlers see the mail (e.message: to as [{address}], subject,
    // html) with its record and e.meta, and may change it; a chain that does not reach
    // e.next() keeps it from being sent.
    mailSend(name, sourcesJson, eventJson) {
      const event = JSON.parse(eventJson);
      const collection = new Collection(event.collection);
      const record = new Record(collection, event.record);
      record.__isNew = false;
      const message = new MailerMessage({
        to: [{ address: event.message.to, name: "" }],
        subject: event.message.subject,
        html: event.message.html,
      });
      const e = { app: $app, record, collection, meta: event.meta || {}, message, next: () => null };
      try {
        const completed = runEvent(e, JSON.parse(sourcesJson), name);
        const to = Array.isArray(e.message.to) && e.message.to.length ? e.message.to[0] : { address: "" };
        return JSON.stringify({
          completed,
          message: {
            to: String(typeof to === "string" ? to : to.address),
            subject: String(e.message.subject ?? ""),
            html: String(e.message.html ?? ""),
          },
        });
      } catch (thrown) {
        return JSON.stringify({ failure: toFailure(thrown) });
      }
    },
    // onRealtimeMessageSend: the handlers see the message about to go to one client
    // (e.client, e.message with its data as JSON text) and may change it; a chain that does
    // not reach e.next() drops it.
    messageSend(name, sourcesJson, eventJson) {
      const event = JSON.parse(eventJson);
      const client = { id: event.clientId, get: (key) => (key === "id" ? event.clientId : null) };
      const e = { app: $app, client, message: { name: event.message.name, data: event.message.data }, next: () => null };
      try {
        const completed = runEvent(e, JSON.parse(sourcesJson), name);
        const data = typeof e.message.data === "string" ? e.message.data : toString(e.message.data);
        return JSON.stringify({ completed, message: { name: String(e.message.name), data } });
      } catch (thrown) {
        return JSON.stringify({ failure: toFailure(thrown) });
      }
    },
    // The model hooks around a save (onRecordCreate and the like, then onRecordValidate):
    // the last e.next() of the validate chain is the save (native.next), which answers the
    // record as it will be stored.
    modelEvent(name, sourcesJson, validateJson, eventJson) {
      const event = JSON.parse(eventJson);
      const collection = new Collection(event.collection);
      const record = new Record(collection, event.record);
      record.__isNew = event.type === "create";
      const e = { app: $app, record, type: event.type, context: "default", next: () => null };
      let continued = false;
      const save = () => {
        continued = true;
        const answer = JSON.parse(native.next(JSON.stringify(record.__data)));
        if (answer.failure) throw apiErrorOf(answer.failure);
        record.load(answer.record || {});
        record.__isNew = false;
        return null;
      };
      try {
        const links = compileHandlers(JSON.parse(sourcesJson), name);
        const validators = compileHandlers(JSON.parse(validateJson), `onRecordValidate(${event.tag})`);
        const validate = () => {
          const ve = { app: $app, record, type: event.type, context: "default", next: () => null };
          return runChain(ve, [...validators, save]);
        };
        runChain(e, [...links, validate]);
      } catch (thrown) {
        return JSON.stringify({ failure: toFailure(thrown), continued });
      }
      return JSON.stringify({ record: record.__data, continued });
    },
    // After a save applied (or failed): the handlers, each reaching the next by e.next().
    afterEvent(name, sourcesJson, eventJson) {
      const event = JSON.parse(eventJson);
      const collection = new Collection(event.collection);
      const record = new Record(collection, event.record);
      record.__isNew = false;
      const e = { app: $app, record, type: event.type, context: "default", next: () => null };
      if (event.error != null) e.error = new Error(event.error);
      try {
        runEvent(e, JSON.parse(sourcesJson), name);
      } catch (thrown) {
        return JSON.stringify({ failure: toFailure(thrown) });
      }
      return JSON.stringify({});
    },
    event(name, sourcesJson) {
      const e = { app: $app, next: () => null };
      try {
        const completed = runEvent(e, JSON.parse(sourcesJson), name);
        return JSON.stringify({ completed });
      } catch (thrown) {
        return JSON.stringify({ failure: toFailure(thrown) });
      }
    },
  };
  delete g.__native;
})(__native);
