// khula.js: offline forms for field workers (a progressive enhancement:
// every page works without it, online).
//
// A form page carries its spec (data-spec), generated on the server from
// the instrument: items with types, ranges, choices, skip logic and the
// server's own error messages, and the red flags the device can check.
// Submitting checks the form here as the server would, shows any red flag
// at once with the safeguarding contact, and puts the form in the outbox:
// IndexedDB, encrypted (AES-GCM) under the practitioner's offline key,
// which the page holds only while signed in. The outbox sends each form
// once, with its own Idempotency-Key, when there is a connection, and
// shows per form what the server said (accepted, or refused and why).
(function (root) {
  "use strict";

  // ---- Checking a form (pure; also run by the Go tests under node) ----

  var DECIMAL = /^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$/;
  var DECLINED = "declined";
  var NO_VALUE = {};

  function decimal(s) {
    if (!DECIMAL.test(s)) return null;
    var f = Number(s);
    return isFinite(f) ? f : null;
  }

  // toAnswers turns raw form values (item id -> text) into answers in the
  // API's types, then drops items the skip logic hides (answersFromForm in
  // Go does exactly this).
  function toAnswers(spec, raw) {
    var a = {};
    spec.items.forEach(function (it) {
      var v = raw[it.id];
      if (v === undefined || v === null) return;
      v = String(v).trim();
      if (v === "") return;
      if (it.type === "yesno") {
        a[it.id] = v === "true" ? true : v === "false" ? false : v;
      } else if (it.type === "number" || it.type === "measurement") {
        var f = decimal(v.replace(/,/g, "."));
        a[it.id] = f === null ? v : f;
      } else if (it.type === "choice") {
        var g = decimal(v);
        a[it.id] = g !== null && it.numeric ? g : v;
      } else {
        a[it.id] = v;
      }
    });
    var hidden = [];
    var vals = {};
    spec.items.forEach(function (it) {
      var shown = !it.show_if || holds(it.show_if, vals, {});
      if (!shown) {
        hidden.push(it.id);
        delete a[it.id];
        return;
      }
      if (a[it.id] !== undefined && convert(it, a[it.id]).ok) vals[it.id] = a[it.id];
    });
    return { answers: a, hidden: hidden };
  }

  function isWhole(f) { return Math.floor(f) === f; }

  function realDate(s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return false;
    var y = +m[1], mo = +m[2], d = +m[3];
    var t = new Date(Date.UTC(y, mo - 1, d));
    return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && y >= 1900 && y <= 2100;
  }

  // convert checks one answer as the server's validator does.
  function convert(it, v) {
    var bad = function (code) { return { ok: false, code: code }; };
    switch (it.type) {
      case "yesno":
        return typeof v === "boolean" ? { ok: true } : bad("wrong_type");
      case "date":
        if (typeof v !== "string") return bad("wrong_type");
        return realDate(v) ? { ok: true } : bad("invalid_date");
      case "number":
      case "measurement":
        if (typeof v !== "number" || !isFinite(v) || (it.integer && !isWhole(v))) return bad("wrong_type");
        if ((it.min !== undefined && v < it.min) || (it.max !== undefined && v > it.max)) return bad("out_of_range");
        return { ok: true };
      case "choice":
        if (it.numeric) {
          if (typeof v !== "number") return bad("wrong_type");
        } else if (typeof v !== "string") {
          return bad("wrong_type");
        }
        return (it.choices || []).some(function (c) { return c === v; }) ? { ok: true } : bad("invalid_choice");
    }
    return bad("wrong_type");
  }

  // validate returns the server's field errors for these answers, in the
  // server's order and words.
  function validate(spec, answers) {
    var errors = [];
    var vals = {};
    spec.items.forEach(function (it) {
      var v = answers[it.id];
      var present = v !== undefined && v !== null;
      var shown = !it.show_if || holds(it.show_if, vals, {});
      if (!shown) {
        if (present) errors.push(fieldError(spec, it, "skipped_item_answered"));
        return;
      }
      if (!present) {
        if (it.required) errors.push(fieldError(spec, it, "required"));
        return;
      }
      if (it.declinable && v === DECLINED) return;
      var c = convert(it, v);
      if (!c.ok) {
        errors.push(fieldError(spec, it, c.code));
        return;
      }
      vals[it.id] = v;
    });
    return errors;
  }

  function fieldError(spec, it, code) {
    var k = it.messages ? it.messages[code] : undefined;
    var m = (k !== undefined && spec.texts && spec.texts[k]) || "{item}: " + code;
    return { item: it.id, code: code, message: m.replace("{item}", it.label || it.id) };
  }

  // holds evaluates a portable condition as CEL would (Cond.Holds in Go).
  function holds(cond, answers, declined) {
    try {
      return evalCond(cond, answers, declined) === true;
    } catch (e) {
      if (e === NO_VALUE) return false;
      throw e;
    }
  }

  function absent(v) { return v === undefined || v === null || v === DECLINED; }

  function evalCond(c, a, d) {
    var arg = function (i) { return evalCond(c.args[i], a, d); };
    switch (c.op) {
      case "lit": return c.value;
      case "answer":
        if (absent(a[c.item])) throw NO_VALUE;
        return a[c.item];
      case "answer_or": return absent(a[c.item]) ? c.value : a[c.item];
      case "answered": return !absent(a[c.item]);
      case "declined": return d[c.item] === true;
      case "not": return !arg(0);
      case "and":
      case "or": {
        var short = c.op === "or";
        var l, r, le = null, re = null;
        try { l = arg(0); } catch (e) { if (e !== NO_VALUE) throw e; le = e; }
        try { r = arg(1); } catch (e) { if (e !== NO_VALUE) throw e; re = e; }
        if ((le === null && l === short) || (re === null && r === short)) return short;
        if (le !== null) throw le;
        if (re !== null) throw re;
        return !short;
      }
      case "in": {
        var v = arg(0);
        return c.args[1].args.some(function (el) { return el.value === v; });
      }
      case "eq": return arg(0) === arg(1);
      case "ne": return arg(0) !== arg(1);
      case "lt": case "le": case "gt": case "ge": {
        var x = arg(0), y = arg(1);
        if (typeof x !== typeof y || (typeof x !== "number" && typeof x !== "string")) return false;
        return c.op === "lt" ? x < y : c.op === "le" ? x <= y : c.op === "gt" ? x > y : x >= y;
      }
    }
    throw new Error("unknown condition " + c.op);
  }

  // raisedFlags lists the red flags these answers raise on the device.
  function raisedFlags(spec, answers) {
    var declined = {};
    spec.items.forEach(function (it) { if (answers[it.id] === DECLINED) declined[it.id] = true; });
    return (spec.flags || []).filter(function (f) { return holds(f.cond, answers, declined); });
  }

  var check = { toAnswers: toAnswers, validate: validate, holds: holds, raisedFlags: raisedFlags };
  root.khulaCheck = check;
  if (typeof document === "undefined") return;

  // ---- The device: key, outbox, drafts ----

  var DB_NAME = "khula", DB_VERSION = 1;
  var meta = function (name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.content : ""; };
  var USER = meta("khula-user");
  var CSRF = meta("khula-csrf");
  if (!USER) return;

  function openDB() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", { keyPath: "key" });
        if (!db.objectStoreNames.contains("drafts")) db.createObjectStore("drafts", { keyPath: "form" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(store, mode, fn) {
    return openDB().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var out = fn(t.objectStore(store));
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }

  var b64 = {
    enc: function (buf) { return btoa(String.fromCharCode.apply(null, new Uint8Array(buf))); },
    dec: function (s) { return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); }); },
    fromURL: function (s) { s = s.replace(/-/g, "+").replace(/_/g, "/"); while (s.length % 4) s += "="; return b64.dec(s); }
  };

  // The key: from the server while online (and kept for this browser
  // session only), else from this session's storage. None: the outbox is
  // locked until the practitioner signs in with a connection.
  var keyPromise = null;
  function key() {
    if (keyPromise) return keyPromise;
    var stored = sessionStorage.getItem("khula.key." + USER);
    var raw = navigator.onLine
      ? fetch("/api/v1/session/offline-key", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error("offline key: " + r.status); return r.json(); })
        .then(function (j) { sessionStorage.setItem("khula.key." + USER, j.key); return j.key; })
        .catch(function () { return stored; })
      : Promise.resolve(stored);
    keyPromise = raw.then(function (k) {
      if (!k) return null;
      return crypto.subtle.importKey("raw", b64.fromURL(k), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    });
    return keyPromise;
  }

  function seal(obj) {
    return key().then(function (k) {
      if (!k) throw new Error("locked");
      var iv = crypto.getRandomValues(new Uint8Array(12));
      var data = new TextEncoder().encode(JSON.stringify(obj));
      return crypto.subtle.encrypt({ name: "AES-GCM", iv: iv }, k, data)
        .then(function (ct) { return { iv: b64.enc(iv), ct: b64.enc(ct) }; });
    });
  }

  function open(box) {
    return key().then(function (k) {
      if (!k) throw new Error("locked");
      return crypto.subtle.decrypt({ name: "AES-GCM", iv: b64.dec(box.iv) }, k, b64.dec(box.ct))
        .then(function (pt) { return JSON.parse(new TextDecoder().decode(pt)); });
    });
  }

  function allOutbox() {
    return tx("outbox", "readonly", function (s) { return s.getAll(); }).then(function (rows) {
      return rows.filter(function (r) { return r.user === USER; }).sort(function (x, y) { return x.queued < y.queued ? -1 : 1; });
    });
  }

  function putOutbox(rec) { return tx("outbox", "readwrite", function (s) { s.put(rec); }); }
  function dropOutbox(k) { return tx("outbox", "readwrite", function (s) { s.delete(k); }); }

  // ---- Sending ----

  var sending = false;
  function sync() {
    if (sending) return Promise.resolve();
    if (!navigator.onLine) return drawOutbox();
    sending = true;
    return allOutbox().then(function (rows) {
      var todo = rows.filter(function (r) { return r.status === "queued"; });
      return todo.reduce(function (p, r) { return p.then(function () { return sendOne(r); }); }, Promise.resolve());
    }).catch(function () { /* locked or offline: stay queued */ })
      .then(function () { sending = false; return drawOutbox(); });
  }

  function sendOne(rec) {
    return open(rec.box).then(function (body) {
      return fetch(rec.url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Idempotency-Key": rec.key, "X-CSRF-Token": CSRF },
        body: JSON.stringify(body)
      });
    }).then(function (res) {
      if (res.ok) {
        return dropOutbox(rec.key).then(function () { noteSent(rec); });
      }
      if (res.status === 401) {
        rec.reason = "Sign in again to send this form.";
        return putOutbox(rec);
      }
      if (res.status >= 500 || res.status === 429) {
        rec.attempt = (rec.attempt || 0) + 1;
        rec.reason = "The server is busy: trying again soon.";
        return putOutbox(rec);
      }
      return res.json().catch(function () { return {}; }).then(function (p) {
        rec.status = "refused";
        rec.reason = [p.title, p.detail].filter(Boolean).join(": ") || "refused (" + res.status + ")";
        rec.errors = (p.errors || []).map(function (e) { return e.message; });
        return putOutbox(rec);
      });
    }, function () { /* no connection: stays queued */ });
  }

  function noteSent(rec) {
    var sent = JSON.parse(sessionStorage.getItem("khula.sent") || "[]");
    sent.push({ child: rec.child, respondent: rec.respondent, at: new Date().toISOString() });
    sessionStorage.setItem("khula.sent", JSON.stringify(sent.slice(-20)));
  }

  // ---- Words ----

  // The form's spec carries the script's words in the form's language,
  // and Today's work the outbox's (#khula-words); elsewhere (and for
  // anything missing) they are English. A count's words hold {n}.
  var words = {};
  function w(id, english) { return words[id] || english; }
  function wn(id, n, english) {
    var one = n === 1 || (n === 0 && words.zero === "one");
    return w(id + (one ? "_one" : "_other"), english).replace("{n}", n);
  }

  // ---- The outbox panel ----

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function drawOutbox() {
    return allOutbox().then(function (rows) {
      var main = document.getElementById("main");
      var panel = document.getElementById("outbox");
      var sent = JSON.parse(sessionStorage.getItem("khula.sent") || "[]");
      if (!rows.length && !sent.length) { if (panel) panel.remove(); return; }
      if (!panel) {
        panel = el("section", { id: "outbox", class: "outbox", "aria-live": "polite" });
        main.insertBefore(panel, main.firstChild);
      }
      panel.textContent = "";
      panel.appendChild(el("h2", {}, wn("outbox.waiting", rows.length, "Outbox: {n} form(s) waiting") + (navigator.onLine ? "" : " " + w("outbox.offline", "(no connection)"))));
      if (rows.length) {
        var ul = el("ul", { class: "outbox-list" });
        rows.forEach(function (r) {
          var li = el("li", { "data-key": r.key, "data-status": r.status });
          li.appendChild(el("span", { class: "id" }, r.child));
          li.appendChild(document.createTextNode(" · " + w("outbox.form", "{r} form").replace("{r}", w("respondent." + r.respondent, r.respondent)) + " · "));
          li.appendChild(el("strong", {}, r.status === "refused" ? w("outbox.refused", "not accepted") : w("outbox.queued", "waiting to send")));
          if (r.reason) li.appendChild(el("span", { class: "reason" }, " " + r.reason));
          (r.errors || []).forEach(function (m) { li.appendChild(el("span", { class: "err" }, " " + m)); });
          if (r.status === "refused") {
            var again = el("button", { type: "button", class: "secondary" }, w("outbox.again", "Try again"));
            again.onclick = function () { r.status = "queued"; r.reason = ""; r.errors = []; putOutbox(r).then(sync); };
            var drop = el("button", { type: "button", class: "secondary" }, w("outbox.discard", "Discard"));
            drop.onclick = function () { if (confirm(w("outbox.confirm", "Discard this form? What was typed is deleted from this device."))) dropOutbox(r.key).then(drawOutbox); };
            li.appendChild(again);
            li.appendChild(drop);
          }
          ul.appendChild(li);
        });
        panel.appendChild(ul);
        var send = el("button", { type: "button", id: "outbox-send" }, w("outbox.send", "Send now"));
        send.onclick = sync;
        panel.appendChild(send);
      }
      if (sent.length) panel.appendChild(el("p", { class: "muted", id: "outbox-sent" }, wn("outbox.sent", sent.length, "{n} form(s) sent from this device in this session.")));
    }).catch(function (e) {
      if (String(e && e.message) === "locked") showLocked();
    });
  }

  function showLocked() {
    var main = document.getElementById("main");
    if (document.getElementById("outbox-locked")) return;
    var p = el("p", { id: "outbox-locked", class: "problem", role: "status" },
      w("outbox.locked", "Forms kept on this device are locked: sign in with a connection to send them."));
    main.insertBefore(p, main.firstChild);
  }

  // ---- A form page ----

  function formPage(form) {
    var spec;
    try { spec = JSON.parse(document.getElementById("khula-spec").textContent); } catch (e) { return; }
    words = spec.words || {};
    var draftKey = location.pathname + "?" + spec.phase;
    var rawValues = function () {
      var raw = {};
      spec.items.forEach(function (it) {
        var els = form.elements["a." + it.id];
        if (!els) return;
        if (els.length !== undefined && els.tagName === undefined) {
          Array.prototype.forEach.call(els, function (e) { if (e.checked) raw[it.id] = e.value; });
        } else if (els.type === "radio") {
          if (els.checked) raw[it.id] = els.value;
        } else {
          raw[it.id] = els.value;
        }
      });
      return raw;
    };
    var applySkips = function () {
      var r = toAnswers(spec, rawValues());
      spec.items.forEach(function (it) {
        var box = form.querySelector('[data-item="' + it.id + '"]');
        if (box) box.hidden = r.hidden.indexOf(it.id) >= 0;
      });
      return r;
    };
    var saveDraft = function () {
      seal({ raw: rawValues() }).then(function (box) {
        return tx("drafts", "readwrite", function (s) { s.put({ form: draftKey, user: USER, box: box, saved: new Date().toISOString() }); });
      }).catch(function () { /* locked: the draft stays in the page */ });
    };
    // Restore a draft typed earlier (nothing typed is lost).
    tx("drafts", "readonly", function (s) { return s.get(draftKey); }).then(function (d) {
      if (!d || d.user !== USER) return;
      return open(d.box).then(function (v) {
        Object.keys(v.raw).forEach(function (id) {
          var els = form.elements["a." + id];
          if (!els) return;
          if (els.length !== undefined && els.tagName === undefined) {
            Array.prototype.forEach.call(els, function (e) { e.checked = e.value === v.raw[id]; });
          } else {
            els.value = v.raw[id];
          }
        });
        applySkips();
        note(form, "Your draft from " + d.saved.slice(0, 16).replace("T", " ") + " was restored.");
      });
    }).catch(function () {});
    applySkips();
    form.addEventListener("change", function () { applySkips(); saveDraft(); });
    form.addEventListener("input", function () { saveDraft(); });
    form.addEventListener("submit", function (ev) {
      var action = ev.submitter ? ev.submitter.value : "submit";
      ev.preventDefault();
      if (action !== "submit") { applySkips(); return; }
      var r = applySkips();
      var errors = validate(spec, r.answers);
      showErrors(form, errors);
      if (errors.length) return;
      var flags = raisedFlags(spec, r.answers);
      var rec = {
        key: crypto.randomUUID(), user: USER, url: spec.url, child: spec.child, respondent: spec.respondent,
        status: "queued", queued: new Date().toISOString(), flags: flags.map(function (f) { return f.code; })
      };
      var body = { phase: spec.phase, respondent: spec.respondent, answers: r.answers, submitted_by: spec.submitted_by };
      seal(body).then(function (box) {
        rec.box = box;
        return putOutbox(rec);
      }).then(function () {
        return tx("drafts", "readwrite", function (s) { s.delete(draftKey); });
      }).then(function () {
        form.hidden = true;
        var done = el("div", { class: "queued", role: "status", id: "queued" });
        done.appendChild(el("h2", {}, navigator.onLine ? w("offline.sending", "Sending the form…") : w("offline.saved", "Saved on this device: it will be sent when you are online.")));
        if (flags.length) done.appendChild(flagAlert(spec, flags));
        var back = el("a", { href: "/work" }, w("offline.back", "Back to today's work"));
        done.appendChild(back);
        form.parentNode.insertBefore(done, form);
        return sync().then(function () {
          return allOutbox();
        }).then(function (rows) {
          var mine = rows.filter(function (x) { return x.key === rec.key; })[0];
          var h = done.querySelector("h2");
          if (!mine) h.textContent = w("offline.recorded", "The form was recorded.");
          else if (mine.status === "refused") h.textContent = w("offline.refused", "The form was not accepted:") + " " + mine.reason;
          else h.textContent = w("offline.saved", "Saved on this device: it will be sent when you are online.");
        });
      }).catch(function (e) {
        if (String(e && e.message) !== "locked") return;
        if (navigator.onLine) {
          // Online without a key: submit as a page without the script would.
          form.submit();
          return;
        }
        // No key and no connection: nothing can be kept safely on the
        // device, so the answers stay in this page; leaving it would lose them.
        note(form, "Not saved on this device yet: keep this page open and submit again once you have a connection (or sign in with one).");
      });
    });
  }

  function flagAlert(spec, flags) {
    var box = el("div", { class: "problem", role: "alert", id: "flag-alert" });
    box.appendChild(el("h3", {}, w("flag.title", "Safeguarding: act now")));
    var ul = el("ul");
    flags.forEach(function (f) { ul.appendChild(el("li", { "data-flag": f.code }, f.reason)); });
    box.appendChild(ul);
    var c = spec.contact || {};
    box.appendChild(el("p", {}, w("flag.tell", "Tell the safeguarding social worker now:") + " " + (c.title || "the site coordinator") +
      (c.address ? " (" + c.channel + ": " + c.address + ")" : "") +
      ". " + w("flag.server", "khula tells them too as soon as the form reaches the server.")));
    return box;
  }

  function note(form, text) {
    var p = el("p", { class: "flash", role: "status" }, text);
    form.parentNode.insertBefore(p, form);
  }

  function showErrors(form, errors) {
    var old = document.getElementById("errors-js");
    if (old) old.remove();
    Array.prototype.forEach.call(form.querySelectorAll(".err.js"), function (e) { e.remove(); });
    if (!errors.length) return;
    var box = el("div", { class: "errors", role: "alert", id: "errors-js", tabindex: "-1" });
    var n = errors.length;
    var tmpl = n === 1 ? w("errors_one", "Nothing was recorded: please correct {n} answer") : w("errors_other", "Nothing was recorded: please correct {n} answers");
    box.appendChild(el("h2", {}, tmpl.replace("{n}", String(n))));
    var ul = el("ul");
    errors.forEach(function (e) {
      var li = el("li");
      li.appendChild(el("a", { href: "#i-" + e.item }, e.message));
      ul.appendChild(li);
      var q = form.querySelector('[data-item="' + e.item + '"]');
      if (q) q.appendChild(el("p", { class: "err js" }, e.message));
    });
    box.appendChild(ul);
    form.parentNode.insertBefore(box, form);
    box.focus();
  }

  // ---- Start ----

  function start() {
    var ws = document.getElementById("khula-words");
    if (ws) try { words = JSON.parse(ws.textContent); } catch (e) { words = {}; }
    var form = document.querySelector("form[data-offline-form]");
    if (form) formPage(form);
    var signout = document.querySelector("form.signout");
    if (signout) signout.addEventListener("submit", function () {
      sessionStorage.removeItem("khula.key." + USER);
      if (navigator.serviceWorker && navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage({ type: "forget" });
    });
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js").then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        var links = Array.prototype.map.call(document.querySelectorAll("a[data-offline]"), function (a) { return a.href; });
        if (links.length && reg.active) reg.active.postMessage({ type: "keep", urls: ["/work?device=1"].concat(links) });
      }).catch(function () {});
    }
    window.addEventListener("online", sync);
    window.addEventListener("offline", drawOutbox);
    key().then(function (k) { if (!k) return allOutbox().then(function (rows) { if (rows.length) showLocked(); }); return sync(); });
    setInterval(function () { if (navigator.onLine) sync(); }, 30000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})(typeof globalThis !== "undefined" ? globalThis : this);
