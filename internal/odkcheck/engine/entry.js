// Browser entry for khula's XForm check (see ../doc.go): it loads an XForm
// with ODK's form engine (@getodk/xforms-engine) and reports what the engine
// built. esbuild bundles this file with the engine into one ES module (the
// engine awaits at its top level) that defines window.khulaCheck.
//
// window.khulaCheck(xml) resolves (never rejects) to
//   {ok, errors, warnings, questions, languages, activeLanguage, engine}
// where questions counts the engine's control nodes (input, select, note,
// range, rank, trigger, upload) anywhere in the tree, repeats included, and
// languages lists the form's itext languages as the engine sees them.
//
// Besides the engine's own errors, these fail a form that the engine lets
// through (ODK Collect does not, or the form does not do what it says): XML
// that is not well-formed, a <bind> or a body control whose path names no
// instance node, a bind type that ODK does not have, and a jr:itext('id')
// that a translation lacks.

import { loadForm } from "@getodk/xforms-engine";
import { createRoot } from "solid-js";
// A relative path: the package's "exports" do not list package.json.
import enginePackage from "./node_modules/@getodk/xforms-engine/package.json" with { type: "json" };

// Leaf node types that are questions: each has a body control. Model-only
// values ("model-value") and attributes are not asked of anyone.
const QUESTION_TYPES = new Set([
  "input",
  "select",
  "note",
  "range",
  "rank",
  "trigger",
  "upload",
]);

// Parent node types whose children the walk descends into.
const PARENT_TYPES = new Set([
  "root",
  "group",
  "repeat-instance",
  "repeat-range:controlled",
  "repeat-range:uncontrolled",
]);

const message = (err) => {
  if (err == null) return "unknown error";
  if (typeof err === "string") return err;
  const parts = [];
  // Name the error's class unless it says nothing ("Error", and the
  // AggregateError the engine wraps load failures in).
  const plain = !err.name || err.name === "Error" || err.name === "AggregateError";
  const head = plain ? "" : `${err.name}: `;
  parts.push(head + (err.message || String(err)));
  // LoadFormFailureError is an AggregateError: its message already joins
  // the inner messages, but keep any inner message it left out.
  if (Array.isArray(err.errors)) {
    for (const inner of err.errors) {
      const m = inner && inner.message ? inner.message : String(inner);
      if (m && !parts[0].includes(m)) parts.push(m);
    }
  }
  if (err.cause && err.cause.message && !parts[0].includes(err.cause.message)) {
    parts.push(`cause: ${err.cause.message}`);
  }
  return parts.join("\n");
};

const children = (node) => {
  const kids = node.currentState && node.currentState.children;
  return Array.isArray(kids) ? kids : [];
};

// walk visits every node under root, depth first, in document order.
const walk = (node, visit) => {
  visit(node);
  if (PARENT_TYPES.has(node.nodeType)) {
    for (const child of children(node)) walk(child, visit);
  }
};

// readTexts reads every label, hint and option label in the active
// language, so that broken itext references or output expressions surface
// as errors here rather than in a client.
const readTexts = (root) => {
  walk(root, (node) => {
    const state = node.currentState;
    if (state.label) void state.label.asString;
    if (state.hint) void state.hint.asString;
    if (node.nodeType === "select" && Array.isArray(state.valueOptions)) {
      for (const item of state.valueOptions) {
        if (item && item.label) void item.label.asString;
      }
    }
  });
};

// No attachments are served: a form that needs one (a secondary instance
// from jr://file/..., say) fails the check with the engine's message.
const fetchFormAttachment = async (url) => {
  return new Response(`no attachment ${url.href} in khula's XForm check`, {
    status: 404,
    statusText: "Not Found",
  });
};

const XFORMS_NS = "http://www.w3.org/2002/xforms";
const XHTML_NS = "http://www.w3.org/1999/xhtml";

// parseErrors returns the browser's XML parser errors. The engine parses
// with DOMParser too, but Chromium's DOMParser answers malformed XML with
// the part it could read plus a <parsererror> element, and the engine goes
// on with that part; ODK Collect rejects such a form.
const parseErrors = (xml) => {
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const found = [
    ...doc.getElementsByTagNameNS(XHTML_NS, "parsererror"),
    ...doc.getElementsByTagName("parsererror"),
  ];
  if (found.length === 0) return { doc, errors: [] };
  const el = found[0];
  const detail = el.querySelector("div") || el;
  return { doc, errors: [`XML is not well-formed: ${detail.textContent.trim()}`] };
};

// definitionNodesets lists the nodesets of every node the engine defined
// from the primary instance (repeat templates and attributes included).
const definitionNodesets = (root) => {
  const seen = new Set();
  const visit = (def) => {
    if (!def || seen.has(def)) return;
    seen.add(def);
    if (typeof def.nodeset === "string") nodesets.add(def.nodeset);
    if (def.attributes && typeof def.attributes.values === "function") {
      for (const attr of def.attributes.values()) visit(attr);
    }
    if (Array.isArray(def.children)) {
      for (const child of def.children) visit(child);
    }
  };
  const nodesets = new Set();
  visit(root.definition);
  return nodesets;
};

// A nodeset this check can match against the instance: an absolute path of
// plain names, optionally ending in an attribute.
const PLAIN_PATH = /^(\/[A-Za-z_][\w.:-]*)+(\/@[A-Za-z_][\w.:-]*)?$/;

// bindErrors finds <bind>s whose nodeset names no node of the primary
// instance. The engine quietly ignores such a bind, so its type, relevance
// or constraint applies to nothing: in generated forms that is a renamed or
// missing field.
const bindErrors = (doc, root) => {
  const nodesets = definitionNodesets(root);
  if (nodesets.size === 0) return [];
  const errors = [];
  for (const bind of doc.getElementsByTagNameNS(XFORMS_NS, "bind")) {
    const nodeset = (bind.getAttribute("nodeset") || "").replace(/\s+/g, "");
    if (!PLAIN_PATH.test(nodeset)) continue;
    if (!nodesets.has(nodeset)) {
      errors.push(`<bind nodeset="${nodeset}"> matches no node of the primary instance`);
    }
  }
  return errors;
};

// BODY_REFS are the body elements that name an instance node, with the
// attribute that names it.
const BODY_REFS = {
  input: "ref",
  select: "ref",
  select1: "ref",
  upload: "ref",
  range: "ref",
  rank: "ref",
  trigger: "ref",
  group: "ref",
  repeat: "nodeset",
};

// resolveRef makes a body reference absolute against the group or repeat
// around it; null when it is not a plain path.
const resolveRef = (ref, base) => {
  ref = ref.replace(/\s+/g, "");
  if (ref.startsWith("/")) return PLAIN_PATH.test(ref) ? ref : null;
  if (base == null) return null;
  const steps = base.split("/").filter(Boolean);
  for (const step of ref.split("/")) {
    if (step === "" || step === ".") continue;
    if (step === "..") steps.pop();
    else steps.push(step);
  }
  const path = "/" + steps.join("/");
  return PLAIN_PATH.test(path) ? path : null;
};

// controlErrors finds body controls, groups and repeats whose reference
// names no node of the primary instance. The engine drops such a control
// without a word, so the question is simply not asked.
const controlErrors = (doc, root) => {
  const nodesets = definitionNodesets(root);
  const body = doc.getElementsByTagNameNS(XHTML_NS, "body")[0];
  if (!body || nodesets.size === 0) return [];
  const errors = [];
  const visit = (el, base) => {
    for (const child of el.children) {
      let next = base;
      const attr = child.namespaceURI === XFORMS_NS ? BODY_REFS[child.localName] : undefined;
      const raw = attr ? child.getAttribute(attr) : null;
      if (raw) {
        const path = resolveRef(raw, base);
        if (path != null) {
          if (!nodesets.has(path)) {
            errors.push(`<${child.localName} ${attr}="${raw}"> names no node of the primary instance`);
          }
          next = path;
        } else {
          next = null;
        }
      }
      visit(child, next);
    }
  };
  visit(body, root.definition.nodeset);
  return errors;
};

// BIND_TYPES are the bind types of the ODK XForms spec and the aliases
// that ODK's tools write. The engine reads any other type as a string.
const BIND_TYPES = new Set([
  "string", "int", "integer", "boolean", "decimal", "date", "time", "dateTime",
  "geopoint", "geotrace", "geoshape", "binary", "barcode", "intent",
  "select", "select1", "rank", "odk:rank",
]);

// typeErrors finds binds with a type outside BIND_TYPES (an xsd: prefix
// is allowed).
const typeErrors = (doc) => {
  const errors = [];
  for (const bind of doc.getElementsByTagNameNS(XFORMS_NS, "bind")) {
    const type = bind.getAttribute("type");
    if (type == null) continue;
    const local = type.startsWith("xsd:") ? type.slice(4) : type;
    if (!BIND_TYPES.has(local)) {
      errors.push(`<bind nodeset="${bind.getAttribute("nodeset")}" type="${type}">: not an ODK XForms type`);
    }
  }
  return errors;
};

// ITEXT_CALL matches a literal jr:itext('id') call.
const ITEXT_CALL = /jr:itext\(\s*(?:'([^']*)'|"([^"]*)")\s*\)/g;

// itextErrors finds jr:itext('id') references (labels, hints, item labels,
// constraint and required messages) whose id some translation lacks. The
// engine shows such a text as empty; ODK Collect refuses the form.
const itextErrors = (doc) => {
  const translations = new Map();
  for (const tr of doc.getElementsByTagNameNS(XFORMS_NS, "translation")) {
    const ids = new Set();
    for (const text of tr.getElementsByTagNameNS(XFORMS_NS, "text")) {
      ids.add(text.getAttribute("id"));
    }
    translations.set(tr.getAttribute("lang") || "", ids);
  }
  const refs = new Set();
  const scan = (value) => {
    if (!value) return;
    for (const m of value.matchAll(ITEXT_CALL)) refs.add(m[1] ?? m[2]);
  };
  for (const el of doc.getElementsByTagName("*")) {
    if (el.namespaceURI === XFORMS_NS && el.localName === "text") continue;
    for (const attr of el.attributes) scan(attr.value);
  }
  const errors = [];
  for (const id of refs) {
    if (translations.size === 0) {
      errors.push(`jr:itext('${id}') is used but the form has no itext translations`);
      continue;
    }
    const missing = [...translations].filter(([, ids]) => !ids.has(id)).map(([lang]) => lang);
    if (missing.length > 0) {
      errors.push(`jr:itext('${id}') has no text in ${missing.map((l) => JSON.stringify(l)).join(", ")}`);
    }
  }
  return errors;
};

const check = async (xml) => {
  const result = {
    ok: false,
    errors: [],
    warnings: [],
    questions: 0,
    languages: [],
    activeLanguage: "",
    engine: enginePackage.version,
  };
  let dispose = () => {};
  try {
    const parsed = parseErrors(xml);
    if (parsed.errors.length > 0) {
      result.errors.push(...parsed.errors);
      return result;
    }
    // Own the engine's reactive scope so that it is freed after the check:
    // loadForm makes its scope a child of the owner it is called under.
    const loading = createRoot((d) => {
      dispose = d;
      return loadForm(xml, { fetchFormAttachment });
    });
    const form = await loading;
    if (form.warnings) {
      result.warnings.push(
        typeof form.warnings === "object" ? JSON.stringify(form.warnings) : String(form.warnings),
      );
    }
    if (form.status === "failure") {
      result.errors.push(message(form.error));
      return result;
    }
    const instance = form.createInstance();
    const root = instance.root;

    for (const lang of root.languages) {
      if (!lang.isSyntheticDefault) result.languages.push(lang.language);
    }
    const active = root.currentState.activeLanguage;
    result.activeLanguage = active && !active.isSyntheticDefault ? active.language : "";

    walk(root, (node) => {
      if (QUESTION_TYPES.has(node.nodeType)) result.questions++;
    });
    result.errors.push(
      ...bindErrors(parsed.doc, root),
      ...controlErrors(parsed.doc, root),
      ...typeErrors(parsed.doc),
      ...itextErrors(parsed.doc),
    );

    // Every language's texts, then back to the form's default language.
    readTexts(root);
    for (const lang of root.languages) {
      if (lang.isSyntheticDefault) continue;
      root.setLanguage(lang);
      readTexts(root);
    }
    if (active && !active.isSyntheticDefault) root.setLanguage(active);

    // The blank instance must serialize for submission ("pending" only
    // means that required questions are still blank).
    const payload = await root.prepareInstancePayload();
    if (!payload || !payload.data || payload.data.length === 0) {
      result.errors.push(`the engine serialized no instance (status ${payload && payload.status})`);
    }

    result.ok = result.errors.length === 0;
  } catch (err) {
    result.errors.push(message(err));
    result.ok = false;
  } finally {
    try {
      dispose();
    } catch (err) {
      result.warnings.push(`disposing the engine's scope: ${message(err)}`);
    }
  }
  return result;
};

window.khulaCheck = check;
window.khulaEngineVersion = enginePackage.version;
