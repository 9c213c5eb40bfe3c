// A test stand-in for Supabase Realtime, postgres_changes only. Never shipped.
//
// It speaks the Phoenix channels protocol the way Supabase Realtime does (JSON
// serializer vsn 1.0.0, and 2.0.0 array framing), and reads changes the way
// Supabase's postgres_changes extension does: wal2json (format 2) from a logical
// replication slot, tables of publication supabase_realtime only, each change
// checked against the subscriber's filters and RLS before it is sent. The
// shapes and texts below follow supabase/realtime's realtime_channel.ex,
// realtime.apply_rls() and replication_poller.ex.
//
// Not done (Supabase does): broadcast, presence, private channels, the
// `select` column list, the 500-error record when a policy raises, the pause
// before a refused join, the access_token refresh throttle.

import { createServer } from "node:http";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { WebSocketServer } from "ws";
import postgres from "postgres";

const PUBLICATION = "supabase_realtime";
const SOCKET_PATH = "/realtime/v1/websocket";
const POLL_IDLE_MS = 5;
const MAX_CHANGES_PER_POLL = 1000;
const FILTER_OPS = { eq: "=", neq: "!=", lt: "<", lte: "<=", gt: ">", gte: ">=" };

/**
 * Starts the server. `pgUrl` must be a superuser (it creates a logical slot) on
 * a cluster with wal_level=logical and wal2json installed.
 * Returns { url, dropAll(), close() }.
 */
export async function startRealtime({ pgUrl, jwtSecret, port = 0, log = (line) => process.stderr.write(`[realtime] ${line}\n`) }) {
  const sql = await connect(pgUrl);
  // One slot per server instance; a persistent slot (not temporary) so that a
  // PostgreSQL restart keeps our position and nothing committed is skipped.
  const slot = `lumea_rt_${randomBytes(6).toString("hex")}`;
  await sql`select pg_create_logical_replication_slot(${slot}, 'wal2json')`;

  const connections = new Set();
  let closed = false;

  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  http.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url, "http://localhost");
    const refuse = (status) => socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    if (url.pathname !== SOCKET_PATH) return refuse("404 Not Found");
    if (!url.searchParams.get("apikey")) return refuse("401 Unauthorized");
    // Phoenix uses the V1 serializer when the client names no version.
    const vsn = url.searchParams.get("vsn") ?? "1.0.0";
    if (vsn !== "1.0.0" && vsn !== "2.0.0") return refuse("400 Bad Request");
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, vsn));
  });
  await new Promise((resolve) => http.listen(port, "127.0.0.1", resolve));

  // --- Sockets and channels -------------------------------------------------

  function accept(ws, vsn) {
    const conn = { ws, vsn, channels: new Map() };
    connections.add(conn);
    ws.on("message", (data, isBinary) => {
      // Binary frames are vsn 2.0.0 broadcasts, which this stand-in does not do.
      if (isBinary) return;
      let msg;
      try {
        msg = decode(vsn, data.toString());
      } catch {
        return log(`undecodable frame: ${data}`);
      }
      onMessage(conn, msg);
    });
    ws.on("close", () => {
      for (const channel of conn.channels.values()) clearTimeout(channel.expiryTimer);
      conn.channels.clear();
      connections.delete(conn);
    });
    ws.on("error", (err) => log(`socket error: ${err.message}`));
  }

  function onMessage(conn, msg) {
    const { topic, event, payload, ref } = msg;
    if (topic === "phoenix" && event === "heartbeat") return reply(conn, msg, "ok", {});
    if (event === "phx_join") return join(conn, msg);
    const channel = conn.channels.get(topic);
    if (!channel) return reply(conn, msg, "error", { reason: "unmatched topic" });
    if (event === "access_token") return refreshToken(channel, payload?.access_token);
    if (event === "phx_leave") {
      reply(conn, msg, "ok", {});
      return closeChannel(channel);
    }
    log(`ignored ${event} on ${topic} (ref ${ref})`);
  }

  function join(conn, msg) {
    const { topic, payload = {} } = msg;
    const name = topic.startsWith("realtime:") ? topic.slice("realtime:".length) : null;
    if (!name) return reply(conn, msg, "error", { reason: "TopicNameRequired: You must provide a topic name" });
    if (payload.config?.private) {
      return reply(conn, msg, "error", { reason: `Unauthorized: You do not have permissions to read from this Channel topic: ${name}` });
    }
    const auth = claimsOf(payload.access_token ?? payload.user_token);
    if (auth.error) return reply(conn, msg, "error", { reason: auth.error });

    // Phoenix closes a channel joined again on the same socket before the new join.
    const previous = conn.channels.get(topic);
    if (previous) closeChannel(previous);

    const params = (payload.config?.postgres_changes ?? []).filter(Boolean);
    const channel = {
      conn,
      topic,
      name,
      joinRef: msg.join_ref ?? msg.ref,
      token: payload.access_token,
      claims: auth.claims,
      expiryTimer: null,
      subs: params.map((p) => ({
        id: phash(p),
        event: String(p.event ?? "*").toUpperCase(),
        schema: p.schema,
        table: p.table,
        filter: p.filter,
        filters: [],
        valid: true,
      })),
    };
    // Filters are parsed now, so no change slips through unfiltered meanwhile.
    for (const sub of channel.subs) {
      try {
        sub.filters = parseFilter(sub.filter);
      } catch (err) {
        sub.valid = false;
        sub.problem = err.message;
      }
    }
    conn.channels.set(topic, channel);
    armExpiry(channel);
    reply(conn, msg, "ok", { postgres_changes: params.map((p) => sortKeys({ ...p, id: phash(p) })) });
    if (channel.subs.length > 0) validateSubscriptions(channel);
  }

  // Like Supabase: a bad or expired token closes the channel with a system error.
  function refreshToken(channel, token) {
    if (typeof token !== "string" || token.startsWith("sb_") || token === channel.token) return;
    const auth = claimsOf(token);
    if (auth.error) return shutdown(channel, auth.error.replace(/^[A-Za-z]+: /, ""));
    channel.token = token;
    channel.claims = auth.claims;
    armExpiry(channel);
  }

  // At the token's expiry the server re-checks it and closes the channel.
  function armExpiry(channel) {
    clearTimeout(channel.expiryTimer);
    if (typeof channel.claims.exp !== "number") return;
    const ms = Math.min(channel.claims.exp * 1000 - Date.now(), 2 ** 31 - 1);
    channel.expiryTimer = setTimeout(() => {
      const ago = Math.floor(Date.now() / 1000) - channel.claims.exp;
      shutdown(channel, `Token has expired ${ago} seconds ago`);
    }, Math.max(ms, 0));
  }

  function shutdown(channel, message) {
    push(channel, "system", { channel: channel.name, extension: "system", message, status: "error" });
    closeChannel(channel);
  }

  function closeChannel(channel) {
    const { conn } = channel;
    clearTimeout(channel.expiryTimer);
    if (conn.channels.get(channel.topic) !== channel) return;
    conn.channels.delete(channel.topic);
    // Phoenix tells the client a channel has ended with phx_close, ref = join ref.
    send(conn, { join_ref: channel.joinRef, ref: channel.joinRef, topic: channel.topic, event: "phx_close", payload: {} });
  }

  /** The JWT's claims, or { error } with Supabase's reason text. No token: the anon role (Supabase uses the apikey's). */
  function claimsOf(token) {
    if (token == null || (typeof token === "string" && token.startsWith("sb_"))) return { claims: { role: "anon" } };
    return verifyJwt(token, jwtSecret);
  }

  // Supabase subscribes in the background after the join reply, then reports on the channel.
  async function validateSubscriptions(channel) {
    const problems = [];
    for (const sub of channel.subs) {
      let problem = sub.problem;
      try {
        problem ??= await retrying(() => checkSubscription(sub, channel.claims.role), () => !isOpen(channel));
      } catch (err) {
        problem = err.message;
      }
      if (problem) {
        sub.valid = false;
        problems.push(problem);
      }
    }
    if (!isOpen(channel)) return;
    const report = problems.length === 0
      ? { status: "ok", message: "Subscribed to PostgreSQL" }
      : { status: "error", message: `Unable to subscribe to changes with given parameters. ${problems.join("; ")}` };
    push(channel, "system", { channel: channel.name, extension: "postgres_changes", message: report.message, status: report.status });
  }

  /** Returns a problem text, or null when the subscription can be served. */
  async function checkSubscription(sub, role) {
    if (!["*", "INSERT", "UPDATE", "DELETE"].includes(sub.event)) return `invalid event ${sub.event}`;
    if (typeof sub.schema !== "string") return "schema is required";
    const [roleRow] = await sql`select 1 from pg_roles where rolname = ${role ?? ""}`;
    if (!roleRow) return `role ${role} does not exist`;
    if (sub.table === undefined || sub.table === "*") {
      return sub.filters.length > 0 ? "filters need a table" : null;
    }
    const columns = await sql`
      select a.attname as name, format_type(a.atttypid, null) as type
        from pg_attribute a
       where a.attrelid = to_regclass(format('%I.%I', ${sub.schema}::text, ${sub.table}::text))
         and a.attnum > 0 and not a.attisdropped`;
    if (columns.length === 0) return `table ${sub.schema}.${sub.table} does not exist`;
    for (const f of sub.filters) {
      const column = columns.find((c) => c.name === f.column);
      if (!column) return `invalid column for filter ${f.column}`;
      try {
        if (f.op === "in") await sql.unsafe(`select ${literal(f.value)}::${column.type}[]`);
        else if (f.value !== null) await sql.unsafe(`select ${literal(f.value)}::${column.type}`);
      } catch (err) {
        if (isConnectionError(err)) throw err;
        return `invalid value for filter ${f.column}: ${err.message}`;
      }
    }
    return null;
  }

  // --- Framing ----------------------------------------------------------------

  function reply(conn, msg, status, response) {
    send(conn, { join_ref: msg.join_ref, ref: msg.ref, topic: msg.topic, event: "phx_reply", payload: { response, status } });
  }

  /** A server push on a channel (system messages): no ref. */
  function push(channel, event, payload) {
    send(channel.conn, { join_ref: channel.joinRef, ref: null, topic: channel.topic, event, payload });
  }

  function send(conn, { join_ref = null, ref = null, topic, event, payload }) {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    // V1 sends exactly these four fields (no join_ref); V2 is
    // [join_ref, ref, topic, event, payload]. Broadcast pushes carry null refs.
    const frame = conn.vsn === "2.0.0"
      ? [join_ref, ref, topic, event, payload]
      : { event, payload, ref, topic };
    conn.ws.send(toJson(frame));
  }

  // --- The change feed ---------------------------------------------------------

  // wal2json options as Supabase's realtime.list_changes() passes them. The
  // publication's tables are read at each poll, as Supabase does (names with
  // '.', ',' or spaces would need wal2json's escaping: not done). Each value's
  // text also comes back exactly as PostgreSQL wrote it ("5.00", not 5).
  const POLL = `
    select c.data::jsonb as wal,
           (select coalesce(jsonb_agg(x.e -> 'value' #>> '{}' order by x.n), '[]')
              from jsonb_array_elements(c.data::jsonb -> 'columns') with ordinality x(e, n)) as new_texts,
           (select coalesce(jsonb_agg(x.e -> 'value' #>> '{}' order by x.n), '[]')
              from jsonb_array_elements(c.data::jsonb -> 'identity') with ordinality x(e, n)) as old_texts
      from pg_logical_slot_get_changes($1, null, $2,
             'format-version', '2', 'include-pk', '1', 'include-timestamp', '1',
             'include-type-oids', '1', 'include-transaction', '0',
             'actions', 'insert,update,delete',
             'add-tables', (select coalesce(string_agg(schemaname || '.' || tablename, ','), '')
                              from pg_publication_tables where pubname = '${PUBLICATION}')) c`;

  const feed = (async () => {
    let backoff = 0;
    let seenLsn = null;
    while (!closed) {
      try {
        // Decoding costs the server about a millisecond even when there is
        // nothing new: first ask (cheaply) whether any WAL was written since.
        const [{ lsn }] = await sql`select pg_current_wal_flush_lsn()::text as lsn`;
        if (lsn === seenLsn) {
          await sleep(POLL_IDLE_MS);
          continue;
        }
        const rows = await sql.unsafe(POLL, [slot, MAX_CHANGES_PER_POLL]);
        backoff = 0;
        // A full batch may leave more behind: then look again at once.
        seenLsn = rows.length < MAX_CHANGES_PER_POLL ? lsn : null;
        // One change at a time, so subscribers get them in commit order.
        for (const row of rows) await deliver(change(row));
      } catch (err) {
        if (closed) break;
        // PostgreSQL down or restarting: the slot keeps our place, so try again.
        backoff = Math.min(backoff ? backoff * 2 : 20, 500);
        log(`poll failed (${err.code ?? err.message}), retrying in ${backoff} ms`);
        await sleep(backoff);
      }
    }
  })();

  function change({ wal, new_texts, old_texts }) {
    const type = { I: "INSERT", U: "UPDATE", D: "DELETE" }[wal.action];
    const columns = (wal.columns ?? []).map((c, i) => ({ name: c.name, type: c.type, text: new_texts[i] }));
    const identity = (wal.identity ?? []).map((c, i) => ({ name: c.name, type: c.type, text: old_texts[i] }));
    return { type, schema: wal.schema, table: wal.table, timestamp: wal.timestamp, pk: (wal.pk ?? []).map((c) => c.name), columns, identity };
  }

  /** Sends one change to every channel with a matching, visible subscription. */
  async function deliver(ch) {
    const candidates = [];
    for (const conn of connections) {
      for (const channel of conn.channels.values()) {
        for (const sub of channel.subs) {
          if (sub.valid && sub.schema === ch.schema && (sub.table === undefined || sub.table === "*" || sub.table === ch.table)
              && (sub.event === "*" || sub.event === ch.type)) {
            candidates.push({ channel, sub });
          }
        }
      }
    }
    if (candidates.length === 0) return;
    // Checks need the database; on a connection failure all of them are redone,
    // and nothing is sent before they have all been answered.
    let messages;
    try {
      messages = await retrying(() => prepare(ch, candidates), () => closed);
    } catch (err) {
      return log(`dropped a change to ${ch.schema}.${ch.table}: ${err.message}`);
    }
    for (const { channel, ids, data } of messages ?? []) {
      if (!isOpen(channel)) continue;
      send(channel.conn, { topic: channel.topic, event: "postgres_changes", payload: { data, ids } });
    }
  }

  async function prepare(ch, candidates) {
    const roleOf = (channel) => channel.claims.role ?? "anon";
    const roles = [...new Set(candidates.map(({ channel }) => roleOf(channel)))];
    // Independent queries go out together (postgres.js pipelines them on the connection).
    const [json, ...infos] = await Promise.all([castValues(ch), ...roles.map((role) => tableInfo(ch, role))]);
    const infoOf = new Map(roles.map((role, i) => [role, infos[i]]));
    const verdicts = await Promise.all(candidates.map(async ({ channel, sub }) => {
      try {
        return await visibility(ch, infoOf.get(roleOf(channel)), channel.claims, sub.filters);
      } catch (err) {
        if (isConnectionError(err)) throw err;
        log(`check failed for ${channel.topic} on ${ch.schema}.${ch.table}: ${err.message}`);
        return false;
      }
    }));
    const perChannel = new Map();
    candidates.forEach(({ channel, sub }, i) => {
      if (!verdicts[i]) return;
      const entry = perChannel.get(channel) ?? { channel, ids: [], data: payloadData(ch, infoOf.get(roleOf(channel)), json, verdicts[i]) };
      if (!entry.ids.includes(sub.id)) entry.ids.push(sub.id);
      perChannel.set(channel, entry);
    });
    return [...perChannel.values()];
  }

  /** Each value as to_jsonb() of its type gives it, as Supabase's realtime.cast() does. */
  async function castValues(ch) {
    const all = [...ch.columns, ...ch.identity];
    if (all.length === 0) return { columns: [], identity: [] };
    const parts = all.map((c) => `coalesce(to_jsonb(${c.text === null ? "null" : literal(c.text)}::${c.type})::text, 'null')`);
    // As JSON, since postgres.js reads a NULL in a text[] as the string "NULL".
    const [{ v }] = await sql.unsafe(`select to_jsonb(array[${parts.join(", ")}]::text[]) as v`);
    return { columns: v.slice(0, ch.columns.length), identity: v.slice(ch.columns.length) };
  }

  /** The table's columns as this role may read them, and whether it has RLS on. */
  async function tableInfo(ch, role) {
    const [info] = await sql`
      with t as (select to_regclass(format('%I.%I', ${ch.schema}::text, ${ch.table}::text)) as oid)
      select coalesce((select relrowsecurity from pg_class, t where pg_class.oid = t.oid), false) as rls,
             coalesce((select json_agg(json_build_object(
                                'name', a.attname, 'type', ty.typname,
                                'selectable', has_column_privilege(${role}::text, a.attrelid, a.attnum, 'SELECT'))
                              order by a.attnum)
                         from pg_attribute a join pg_type ty on ty.oid = a.atttypid, t
                        where a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped), '[]') as columns`;
    return { role, columns: info.columns, rls: info.rls };
  }

  /**
   * Whether the subscriber gets this change: false, "ok", or an error code
   * Supabase sends in place of the row. Filters are checked with the column's
   * type in SQL, as realtime.check_equality_op() does; a filter on a column the
   * change lacks fails (for deletes, the old row's identity columns count).
   */
  async function visibility(ch, info, claims, filters) {
    const values = ch.type === "DELETE" ? ch.identity : ch.columns;
    const conditions = filters.map((f) => filterSql(f, values.find((c) => c.name === f.column)));
    const passes = conditions.length === 0 ? "true" : `coalesce(${conditions.join(" and ")}, false)`;
    if (ch.type !== "DELETE") {
      if (ch.pk.length === 0) return "Error 400: Bad Request, no primary key";
      const selectable = new Set(info.columns.filter((c) => c.selectable).map((c) => c.name));
      if (!ch.pk.every((name) => selectable.has(name))) return "Error 401: Unauthorized";
    }
    if (ch.type === "DELETE" || !info.rls) {
      if (conditions.length === 0) return "ok";
      const [{ pass }] = await sql.unsafe(`select ${passes} as pass`);
      return pass ? "ok" : false;
    }
    // RLS: does the row exist for this subscriber right now? Looked up by primary
    // key as the subscriber's role with its claims, as Supabase's prepared
    // statement does. One implicit transaction, so the role and claims end with it.
    const key = ch.pk.map((name) => {
      const c = ch.columns.find((col) => col.name === name);
      return `${ident(name)} = ${c.text === null ? "null" : literal(c.text)}::${c.type}`;
    });
    // Supabase sets request.jwt.claims only. @supabase/lite redefines auth.uid()
    // and auth.role() on each start to read the older per-claim settings
    // (request.jwt.claim.sub, ...), so those are set too, with the same values.
    const perClaim = Object.entries(claims)
      .filter(([k, v]) => /^[a-z_]+$/.test(k) && (typeof v === "string" || typeof v === "number"))
      .map(([k, v]) => `select set_config(${literal(`request.jwt.claim.${k}`)}, ${literal(v)}, true);`);
    const results = await sql.unsafe(
      `set local role ${ident(info.role)};
       select set_config('request.jwt.claims', ${literal(JSON.stringify(claims))}, true);
       ${perClaim.join("\n       ")}
       select ${passes} as pass,
              exists(select 1 from ${ident(ch.schema)}.${ident(ch.table)} where ${key.join(" and ")}) as visible;`,
    ).simple();
    const [{ pass, visible }] = results[results.length - 1];
    return pass && visible ? "ok" : false;
  }

  /** payload.data as Supabase encodes it (keys in Elixir's order, i.e. sorted). */
  function payloadData(ch, info, json, verdict) {
    const base = { schema: ch.schema, table: ch.table, type: ch.type };
    if (verdict !== "ok") {
      // What replication_poller.ex makes of apply_rls()'s error rows.
      // (Only inserts and updates get these.)
      return sortKeys({
        ...base,
        columns: [],
        commit_timestamp: null,
        errors: [verdict],
        record: {},
        ...(ch.type === "UPDATE" ? { old_record: {} } : {}),
      });
    }
    const readable = new Map(info.columns.map((c) => [c.name, c.selectable]));
    const record = (list, texts, keep) => {
      const out = {};
      list.forEach((c, i) => {
        if (readable.get(c.name) && keep(c)) out[c.name] = new RawJson(asElixirWould(texts[i]));
      });
      // jsonb_object_agg over no rows is null.
      return Object.keys(out).length ? sortKeys(out) : null;
    };
    const data = {
      ...base,
      columns: info.columns.filter((c) => c.selectable).map((c) => ({ name: c.name, type: c.type })),
      commit_timestamp: commitTimestamp(ch.timestamp),
      errors: null,
    };
    if (ch.type !== "DELETE") data.record = record(ch.columns, json.columns, () => true);
    if (ch.type === "UPDATE") data.old_record = record(ch.identity, json.identity, () => true);
    // Deletes cannot be checked against RLS: with RLS on, only the primary key goes out.
    if (ch.type === "DELETE") data.old_record = record(ch.identity, json.identity, (c) => !info.rls || ch.pk.includes(c.name));
    return sortKeys(data);
  }

  // --- Plumbing ---------------------------------------------------------------

  function isOpen(channel) {
    return !closed && channel.conn.channels.get(channel.topic) === channel && channel.conn.ws.readyState === channel.conn.ws.OPEN;
  }

  /** Runs `work` until it succeeds, waiting out database outages; gives up (undefined) once `stop()` says so. */
  async function retrying(work, stop) {
    let backoff = 0;
    for (;;) {
      if (stop()) return undefined;
      try {
        return await work();
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        backoff = Math.min(backoff ? backoff * 2 : 20, 500);
        log(`database unavailable (${err.code ?? err.message}), retrying in ${backoff} ms`);
        await sleep(backoff);
      }
    }
  }

  return {
    url: `ws://127.0.0.1:${http.address().port}${SOCKET_PATH}`,
    /** Abruptly cuts every client socket (no close frame), as a network failure would. */
    dropAll() {
      for (const ws of wss.clients) ws.terminate();
    },
    async close() {
      closed = true;
      for (const conn of connections) for (const channel of conn.channels.values()) clearTimeout(channel.expiryTimer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => http.close(resolve));
      await feed;
      await sql`select pg_drop_replication_slot(${slot})`.catch((err) => log(`could not drop slot ${slot}: ${err.message}`));
      await sql.end({ timeout: 1 });
    },
  };
}

/** One connection, used for everything in turn (the feed is sequential anyway). */
async function connect(pgUrl) {
  // Some PostgreSQL builds only allow listed output plugins
  // (output_plugin_libraries, settable by a superuser per session): add wal2json.
  const probe = postgres(pgUrl, { max: 1, onnotice: () => {} });
  const [allowed] = await probe`select setting from pg_settings where name = 'output_plugin_libraries'`;
  await probe.end();
  const connection = { application_name: "lumea_realtime_stand_in", TimeZone: "UTC" };
  if (allowed && !/\bwal2json\b/.test(allowed.setting)) {
    connection.output_plugin_libraries = allowed.setting ? `${allowed.setting}, wal2json` : "wal2json";
  }
  return postgres(pgUrl, { max: 1, onnotice: () => {}, connection, idle_timeout: 0, connect_timeout: 5 });
}

/** Lost connections and server shutdowns are retried; any other error is a real failure. */
function isConnectionError(err) {
  if (!err.severity) return true; // not raised by the server: socket closed, refused, timed out
  return /^(08|57P|53)/.test(err.code ?? "");
}

/**
 * Parses a filter the way Supabase's RealtimeFilterParser does:
 * "col=op.value" parts joined by commas (not inside parentheses; "\," escapes).
 */
export function parseFilter(filter) {
  if (filter == null || filter === "") return [];
  const parts = [];
  let buf = "";
  let depth = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i];
    if (c === "\\" && filter[i + 1] === ",") {
      buf += ",";
      i++;
    } else if (c === "," && depth === 0) {
      parts.push(buf);
      buf = "";
    } else {
      if (c === "(") depth++;
      if (c === ")") depth = Math.max(depth - 1, 0);
      buf += c;
    }
  }
  parts.push(buf);
  return parts.map((p) => p.trim()).filter(Boolean).map((part) => {
    const eq = part.indexOf("=");
    if (eq < 0) throw new Error(`missing '=' in filter part: '${part}'`);
    const column = part.slice(0, eq).trim();
    const rest = part.slice(eq + 1).trim();
    if (rest === "is.null") return { column, op: "isnull", value: null };
    if (rest === "not.is.null") return { column, op: "notnull", value: null };
    const dot = rest.indexOf(".");
    const op = dot < 0 ? rest : rest.slice(0, dot);
    const value = dot < 0 ? "" : rest.slice(dot + 1);
    if (op === "in") {
      const inner = /^\((.*)\)$/.exec(value);
      if (!inner) throw new Error(`failed to parse filter '${part}': \`in\` filter value must be wrapped by parentheses`);
      return { column, op, value: `{${inner[1]}}` };
    }
    if (!(op in FILTER_OPS)) throw new Error(`unsupported filter type '${op}' for part: '${part}'`);
    return { column, op, value };
  });
}

function filterSql(f, column) {
  if (!column) return "false";
  const v = `${column.text === null ? "null" : literal(column.text)}::${column.type}`;
  if (f.op === "isnull") return `(${v} is null)`;
  if (f.op === "notnull") return `(${v} is not null)`;
  if (f.op === "in") return `(${v} = any(${literal(f.value)}::${column.type}[]))`;
  return `(${v} ${FILTER_OPS[f.op]} ${literal(f.value)}::${column.type})`;
}

/** HS256/384/512 JWT check: signature, then `exp` and `role` as Supabase requires. */
export function verifyJwt(token, secret) {
  const parts = typeof token === "string" ? token.split(".") : [];
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], "base64url"));
    claims = JSON.parse(Buffer.from(parts[1], "base64url"));
  } catch {
    return { error: "MalformedJWT: The token provided is not a valid JWT" };
  }
  if (parts.length !== 3 || typeof claims !== "object" || claims === null) {
    return { error: "MalformedJWT: The token provided is not a valid JWT" };
  }
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[header?.alg];
  if (!hash) return { error: "JwtSignerError: Failed to generate JWT signer, check your JWT secret or JWKS configuration" };
  const expected = createHmac(hash, secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { error: "JwtSignatureError: Failed to validate JWT signature" };
  }
  if (typeof claims.exp !== "number" || typeof claims.role !== "string") {
    return { error: "InvalidJWTToken: Fields `role` and `exp` are required in JWT" };
  }
  const now = Math.floor(Date.now() / 1000);
  if (claims.exp <= now) return { error: `InvalidJWTToken: Token has expired ${now - claims.exp} seconds ago` };
  return { claims };
}

// --- Small helpers -------------------------------------------------------------

/** Already-encoded JSON, put into a message as is. */
class RawJson {
  constructor(text) {
    this.text = text;
  }
}

function toJson(value) {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const fields = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

function decode(vsn, text) {
  const m = JSON.parse(text);
  if (vsn === "2.0.0") {
    const [join_ref, ref, topic, event, payload] = m;
    return { join_ref, ref, topic, event, payload };
  }
  return m;
}

/**
 * Supabase's server decodes each row from JSON and encodes it again (Elixir's
 * Jason): a number with a fraction or an exponent becomes a float, printed in
 * its shortest form with at least one decimal ("5.00" -> 5.0, "0.1600" -> 0.16).
 * Other values pass as PostgreSQL wrote them.
 */
function asElixirWould(jsonText) {
  if (!/^-?\d/.test(jsonText) || !/[.eE]/.test(jsonText)) return jsonText;
  const s = String(Number(jsonText)).replace("e+", "e");
  if (s.includes(".")) return s;
  return s.includes("e") ? s.replace("e", ".0e") : `${s}.0`;
}

/** to_char(ts at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'): milliseconds, truncated. */
function commitTimestamp(text) {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?([+-]\d\d)(?::?(\d\d))?$/.exec(text ?? "");
  if (!m) return null;
  const ms = (m[3] ?? "").padEnd(3, "0").slice(0, 3);
  return new Date(`${m[1]}T${m[2]}.${ms}${m[4]}:${m[5] ?? "00"}`).toISOString();
}

/** Stands in for Erlang's :erlang.phash2/1 of the params: a stable id below 2^27. */
function phash(params) {
  let h = 0x811c9dc5;
  for (const ch of toJson(sortKeys(params))) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 2 ** 27;
}

function sortKeys(obj) {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function literal(text) {
  return `'${String(text).replaceAll("'", "''")}'`;
}

function ident(name) {
  return `"${String(name).replaceAll('"', '""')}"`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
