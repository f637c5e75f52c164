#!/usr/bin/env python3
"""Lists the public API of sserve-engine and sserve-adapters and compares it with the listings
checked in beside each crate (engine/public-api.txt, adapters/public-api.txt).

    scripts/public_api.py            print the listings
    scripts/public_api.py --check    fail with a diff when a listing is out of date
    scripts/public_api.py --bless    rewrite the listings

The listing comes from rustdoc's JSON output (`--output-format json`, unstable: run on the
stable toolchain with RUSTC_BOOTSTRAP=1, which this script sets for the rustdoc run only). It
walks every public path from the crate root, following re-exports, and prints one line per
item: its kind, its path, and for functions, fields and variants the signature. Items marked
`#[doc(hidden)]` and their contents are left out, as rustdoc leaves them out of the docs.
Standard library only.
"""

import argparse
import difflib
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = [
    # (package, library name, listing)
    ("sserve-engine", "sserve_engine", "engine/public-api.txt"),
    ("sserve-adapters", "sserve_adapters", "adapters/public-api.txt"),
]


def rustdoc_json(package, lib):
    """Builds the crate's rustdoc JSON (default features) and returns it parsed."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    # The listing must not depend on the caller's RUSTDOCFLAGS (e.g. -Dwarnings is fine, but
    # --document-private-items would change it).
    env.pop("RUSTDOCFLAGS", None)
    subprocess.run(
        ["cargo", "rustdoc", "-q", "-p", package, "--lib", "--",
         "-Z", "unstable-options", "--output-format", "json"],
        cwd=ROOT, env=env, check=True)
    with open(os.path.join(target, "doc", lib + ".json"), encoding="utf-8") as f:
        return json.load(f)


def is_hidden(item):
    return any("doc(hidden)" in json.dumps(a).replace(" ", "") for a in item.get("attrs") or [])


class Renderer:
    """Renders rustdoc JSON types, generics and signatures as Rust-like text."""

    def __init__(self, doc):
        self.doc = doc
        # Item id -> its shortest public path in this crate (filled by a first walk).
        self.public_paths = {}

    def path_of(self, p):
        # This crate's items by their shortest public path, others by their defining path
        # (`alloc::string::String`); never the path as written in the source, so a moved `use`
        # does not show up as an API change.
        id_ = p.get("id")
        if id_ in self.public_paths:
            name = self.public_paths[id_]
        else:
            known = self.doc["paths"].get(str(id_))
            name = "::".join(known["path"]) if known else (p.get("path") or p.get("name") or "?")
        return name + self.args(p.get("args"))

    def args(self, args):
        if not args:
            return ""
        if "angle_bracketed" in args:
            ab = args["angle_bracketed"]
            parts = [self.generic_arg(a) for a in ab.get("args", [])]
            for c in ab.get("constraints", []) or []:
                binding = c.get("binding", {})
                if "equality" in binding:
                    eq = binding["equality"]
                    val = self.ty(eq["type"]) if "type" in eq else str(eq.get("constant", "_"))
                    parts.append(f"{c['name']} = {val}")
                else:
                    parts.append(f"{c['name']}: " + " + ".join(self.bound(b) for b in binding.get("constraint", [])))
            return "<" + ", ".join(parts) + ">" if parts else ""
        if "parenthesized" in args:
            pa = args["parenthesized"]
            out = "(" + ", ".join(self.ty(t) for t in pa.get("inputs", [])) + ")"
            if pa.get("output"):
                out += " -> " + self.ty(pa["output"])
            return out
        return ""

    def generic_arg(self, a):
        if isinstance(a, str):
            return a  # "infer"
        if "lifetime" in a:
            return a["lifetime"]
        if "type" in a:
            return self.ty(a["type"])
        if "const" in a:
            return str(a["const"].get("expr", "_"))
        return "_"

    def bound(self, b):
        if "trait_bound" in b:
            tb = b["trait_bound"]
            prefix = "?" if tb.get("modifier") == "maybe" else ""
            return prefix + self.path_of(tb["trait"])
        if "outlives" in b:
            return b["outlives"]
        if "use" in b:
            return "use<" + ", ".join(str(x) for x in b["use"]) + ">"
        return "_"

    def ty(self, t):
        if t is None:
            return "()"
        if "resolved_path" in t:
            return self.path_of(t["resolved_path"])
        if "generic" in t:
            return t["generic"]
        if "primitive" in t:
            return t["primitive"]
        if "borrowed_ref" in t:
            r = t["borrowed_ref"]
            lt = (r["lifetime"] + " ") if r.get("lifetime") else ""
            return "&" + lt + ("mut " if r.get("is_mutable") else "") + self.ty(r["type"])
        if "raw_pointer" in t:
            r = t["raw_pointer"]
            return ("*mut " if r.get("is_mutable") else "*const ") + self.ty(r["type"])
        if "slice" in t:
            return "[" + self.ty(t["slice"]) + "]"
        if "array" in t:
            return "[" + self.ty(t["array"]["type"]) + "; " + str(t["array"]["len"]) + "]"
        if "tuple" in t:
            items = [self.ty(x) for x in t["tuple"]]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if "impl_trait" in t:
            return "impl " + " + ".join(self.bound(b) for b in t["impl_trait"])
        if "dyn_trait" in t:
            d = t["dyn_trait"]
            parts = [self.path_of(x["trait"]) for x in d.get("traits", [])]
            if d.get("lifetime"):
                parts.append(d["lifetime"])
            return "dyn " + " + ".join(parts)
        if "qualified_path" in t:
            q = t["qualified_path"]
            trait = self.path_of(q["trait"]) if q.get("trait") else None
            base = self.ty(q["self_type"])
            inner = f"<{base} as {trait}>" if trait else base
            return f"{inner}::{q['name']}" + self.args(q.get("args"))
        if "function_pointer" in t:
            fp = t["function_pointer"]
            return "fn" + self.sig(fp["sig"], with_names=False)
        if "infer" in t or t == "infer":
            return "_"
        return "_"

    def generics(self, g):
        params = []
        for p in (g or {}).get("params", []):
            kind = p.get("kind", {})
            if "lifetime" in kind:
                outlives = kind["lifetime"].get("outlives") or []
                params.append(p["name"] + (": " + " + ".join(outlives) if outlives else ""))
            elif "type" in kind:
                if kind["type"].get("is_synthetic"):
                    continue  # `impl Trait` in argument position
                bounds = kind["type"].get("bounds") or []
                params.append(p["name"] + (": " + " + ".join(self.bound(b) for b in bounds) if bounds else ""))
            elif "const" in kind:
                params.append(f"const {p['name']}: {self.ty(kind['const']['type'])}")
        return "<" + ", ".join(params) + ">" if params else ""

    def where_clause(self, g):
        preds = []
        for w in (g or {}).get("where_predicates", []):
            if "bound_predicate" in w:
                bp = w["bound_predicate"]
                preds.append(self.ty(bp["type"]) + ": " + " + ".join(self.bound(b) for b in bp.get("bounds", [])))
            elif "lifetime_predicate" in w:
                lp = w["lifetime_predicate"]
                preds.append(lp["lifetime"] + ": " + " + ".join(lp.get("outlives", [])))
            elif "eq_predicate" in w:
                preds.append(self.ty(w["eq_predicate"]["lhs"]) + " = ...")
        return " where " + ", ".join(preds) if preds else ""

    def sig(self, sig, with_names=True):
        ins = []
        for name, t in sig.get("inputs", []):
            if with_names and name == "self":
                if t == {"generic": "Self"}:
                    ins.append("self")
                    continue
                if "borrowed_ref" in t and t["borrowed_ref"]["type"] == {"generic": "Self"}:
                    r = t["borrowed_ref"]
                    lt = (r["lifetime"] + " ") if r.get("lifetime") else ""
                    ins.append("&" + lt + ("mut " if r.get("is_mutable") else "") + "self")
                    continue
            ins.append(f"{name}: {self.ty(t)}" if with_names else self.ty(t))
        out = "(" + ", ".join(ins) + ")"
        if sig.get("output") is not None:
            out += " -> " + self.ty(sig["output"])
        return out

    def function(self, name, f):
        header = f.get("header", {})
        quals = "".join(q for q, on in (("const ", header.get("is_const")), ("async ", header.get("is_async")),
                                          ("unsafe ", header.get("is_unsafe"))) if on)
        return (quals + "fn " + name + self.generics(f.get("generics")) + self.sig(f["sig"])
                + self.where_clause(f.get("generics")))


class Lister:
    def __init__(self, doc):
        self.doc = doc
        self.index = doc["index"]
        self.r = Renderer(doc)
        self.lines = set()
        self.visiting = set()

    def item(self, id_):
        return self.index.get(str(id_))

    def emit(self, line):
        self.lines.add(line)

    def walk_module(self, path, module_id):
        key = (path, module_id)
        if key in self.visiting:
            return
        self.visiting.add(key)
        m = self.item(module_id)
        for child in m["inner"]["module"]["items"]:
            self.walk(path, child)

    def walk(self, parent, id_):
        it = self.item(id_)
        if it is None or is_hidden(it) or it.get("visibility") not in ("public", "default"):
            return
        kind, inner = next(iter(it["inner"].items()))
        if kind == "use":
            self.walk_use(parent, it, inner)
            return
        name = it.get("name")
        path = f"{parent}::{name}" if name else parent
        self.walk_named(path, it, kind, inner)

    def walk_use(self, parent, it, u):
        target = self.item(u["id"]) if u.get("id") is not None else None
        if u.get("is_glob"):
            if target is not None and "module" in target["inner"]:
                self.walk_module(parent, u["id"])
            else:
                self.emit(f"pub use {parent}::{u['source']}::*")
            return
        path = f"{parent}::{u['name']}"
        if target is None or is_hidden(target):
            if target is None:
                self.emit(f"pub use {path} = {u['source']}")
            return
        kind, inner = next(iter(target["inner"].items()))
        self.walk_named(path, target, kind, inner)

    def walk_named(self, path, it, kind, inner):
        r = self.r
        best = r.public_paths.get(it["id"])
        if best is None or (path.count("::"), path) < (best.count("::"), best):
            r.public_paths[it["id"]] = path
        if kind == "module":
            self.emit(f"pub mod {path}")
            self.walk_module(path, it["id"])
        elif kind == "struct":
            self.emit(f"pub struct {path}{r.generics(inner.get('generics'))}{self.non_exhaustive(it)}")
            k = inner["kind"]
            if "plain" in k:
                for fid in k["plain"]["fields"]:
                    self.field(path, fid)
            elif "tuple" in k:
                for i, fid in enumerate(k["tuple"]):
                    if fid is not None:
                        f = self.item(fid)
                        if f and not is_hidden(f):
                            self.emit(f"pub struct field {path}::{i}: {r.ty(f['inner']['struct_field'])}")
            self.impls(path, inner.get("impls", []))
        elif kind == "union":
            self.emit(f"pub union {path}{r.generics(inner.get('generics'))}")
            for fid in inner.get("fields", []):
                self.field(path, fid)
            self.impls(path, inner.get("impls", []))
        elif kind == "enum":
            self.emit(f"pub enum {path}{r.generics(inner.get('generics'))}{self.non_exhaustive(it)}")
            for vid in inner["variants"]:
                self.variant(path, vid)
            self.impls(path, inner.get("impls", []))
        elif kind == "trait":
            bounds = inner.get("bounds") or []
            sup = (": " + " + ".join(r.bound(b) for b in bounds)) if bounds else ""
            self.emit(f"pub trait {path}{r.generics(inner.get('generics'))}{sup}")
            for iid in inner["items"]:
                self.assoc(path, iid)
        elif kind == "function":
            self.emit(f"pub {r.function(path, inner)}")
        elif kind == "constant":
            self.emit(f"pub const {path}: {r.ty(inner['type'])}")
        elif kind == "static":
            self.emit(f"pub static {path}: {r.ty(inner['type'])}")
        elif kind == "type_alias":
            self.emit(f"pub type {path}{r.generics(inner.get('generics'))} = {r.ty(inner['type'])}")
        elif kind in ("macro", "proc_macro"):
            self.emit(f"pub macro {path}!")
        else:
            self.emit(f"pub {kind} {path}")

    @staticmethod
    def non_exhaustive(it):
        return " #[non_exhaustive]" if any("non_exhaustive" in json.dumps(a) for a in it.get("attrs") or []) else ""

    def field(self, path, fid):
        f = self.item(fid)
        if f is None or is_hidden(f) or f.get("visibility") != "public":
            return
        self.emit(f"pub struct field {path}::{f['name']}: {self.r.ty(f['inner']['struct_field'])}")

    def variant(self, path, vid):
        v = self.item(vid)
        if v is None or is_hidden(v):
            return
        k = v["inner"]["variant"]["kind"]
        shape = ""
        if isinstance(k, dict) and "tuple" in k:
            tys = []
            for fid in k["tuple"]:
                f = self.item(fid) if fid is not None else None
                tys.append(self.r.ty(f["inner"]["struct_field"]) if f else "_")
            shape = "(" + ", ".join(tys) + ")"
        elif isinstance(k, dict) and "struct" in k:
            fields = []
            for fid in k["struct"]["fields"]:
                f = self.item(fid)
                if f and not is_hidden(f):
                    fields.append(f"{f['name']}: {self.r.ty(f['inner']['struct_field'])}")
            shape = " { " + ", ".join(fields) + " }"
        self.emit(f"pub enum variant {path}::{v['name']}{shape}")

    def assoc(self, path, iid, prefix="pub "):
        a = self.item(iid)
        if a is None or is_hidden(a):
            return
        kind, inner = next(iter(a["inner"].items()))
        name = a["name"]
        if kind == "function":
            self.emit(f"{prefix}{self.r.function(f'{path}::{name}', inner)}")
        elif kind == "assoc_const":
            self.emit(f"{prefix}const {path}::{name}: {self.r.ty(inner['type'])}")
        elif kind == "assoc_type":
            bounds = inner.get("bounds") or []
            b = (": " + " + ".join(self.r.bound(x) for x in bounds)) if bounds else ""
            t = (" = " + self.r.ty(inner["type"])) if inner.get("type") else ""
            self.emit(f"{prefix}type {path}::{name}{b}{t}")

    def impls(self, path, impl_ids):
        for iid in impl_ids:
            im = self.item(iid)
            if im is None or is_hidden(im):
                continue
            i = im["inner"]["impl"]
            if i.get("blanket_impl") is not None:
                continue  # `impl<T> From<T> for T` and friends: the same for every type
            if i.get("trait") is None:
                for aid in i["items"]:
                    a = self.item(aid)
                    if a is not None and a.get("visibility") == "public":
                        self.assoc(path, aid)
            else:
                neg = "!" if i.get("is_negative") else ""
                generics = self.r.generics(i.get("generics"))
                self.emit(f"impl{generics} {neg}{self.r.path_of(i['trait'])} for {self.r.ty(i['for'])}"
                          f"{self.r.where_clause(i.get('generics'))}")

    def listing(self):
        root = self.item(self.doc["root"])
        name = root["name"]
        # First walk: learn every item's public paths; second: print with them.
        for _ in range(2):
            self.lines = set()
            self.visiting = set()
            self.emit(f"pub mod {name}")
            self.walk_module(name, self.doc["root"])
        return "".join(line + "\n" for line in sorted(self.lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail with a diff when a listing differs")
    mode.add_argument("--bless", action="store_true", help="rewrite the checked-in listings")
    args = ap.parse_args()

    failed = False
    for package, lib, listing in CRATES:
        text = Lister(rustdoc_json(package, lib)).listing()
        path = os.path.join(ROOT, listing)
        if args.bless:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"{listing}: {text.count(chr(10))} lines written")
        elif args.check:
            try:
                with open(path, encoding="utf-8") as f:
                    old = f.read()
            except FileNotFoundError:
                old = ""
            if old != text:
                failed = True
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(keepends=True), text.splitlines(keepends=True),
                    fromfile=f"{listing} (checked in)", tofile=f"{listing} (from the code)"))
        else:
            sys.stdout.write(text)
    if failed:
        print("\nThe public API changed. Review the diff above; if it is intended, run "
              "scripts/public_api.py --bless and commit the listings.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
