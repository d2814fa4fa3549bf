export const id = 852;
export const ids = [852];
export const modules = {

/***/ 3852:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   githubParserErrors: () => (/* binding */ githubParserErrors)
/* harmony export */ });
/* unused harmony exports readerEvents, FLAT_FROM */
/* harmony import */ var _actions_workflow_parser__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(9431);
/* harmony import */ var _actions_workflow_parser_templates_template_context__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(5071);
/* harmony import */ var _actions_workflow_parser_templates_template_reader__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6074);
/* harmony import */ var _actions_workflow_parser_workflows_workflow_constants__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(6340);
/* harmony import */ var _actions_workflow_parser_workflows_workflow_schema__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(4392);
/* harmony import */ var _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(907);
/* harmony import */ var _actions_workflow_parser_templates_tokens_index__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(3262);
/* harmony import */ var _actions_workflow_parser_workflows_yaml_object_reader__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(589);
/* harmony import */ var yaml__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(8815);
/**
 * GitHub's own workflow parser (@actions/workflow-parser), the one the Actions VS Code extension
 * uses: schema errors, unknown keys, bad `${{ }}` expressions and semantic errors (job `needs`
 * cycles, cron syntax, concurrency) with their ranges. Only the text is handed over; the file was
 * already read safely (size cap, strict UTF-8, bounded aliases) by ./workflow.ts, because this
 * parser expands aliases without a limit.
 */









/**
 * GitHub's YAML reader over a document stateguard already parsed (with the same options), so each
 * workflow is parsed once, not twice: half the cost of a lint. It replaces exactly the three fields
 * the reader's constructor fills from its own parse. A parser upgrade that changes them breaks the
 * lint tests loudly (every schema case), never silently.
 */
class ParsedDocumentReader extends _actions_workflow_parser_workflows_yaml_object_reader__WEBPACK_IMPORTED_MODULE_5__/* .YamlObjectReader */ .M {
    constructor(fileId, doc, lines) {
        super(fileId, '');
        const self = this;
        self.doc = doc;
        self.lineCounter = lines;
        // The reader's own range computation, called directly: a replacement installed on the instance
        // made much more of each file's parse survive young-generation collections (measured with
        // --trace-gc: 2.5 times the scavenge time, 50 MiB more peak RSS over 2,000 files).
        // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) below
        const readerRange = _actions_workflow_parser_workflows_yaml_object_reader__WEBPACK_IMPORTED_MODULE_5__/* .YamlObjectReader */ .M.prototype.getRange;
        self._generator = readerEvents(doc, fileId, (n) => this.flatRange(n, readerRange.call(this, n))).values();
    }
    /** Block literals read as one line (see FLAT_FROM), by their start line. */
    flattened = new Map();
    /**
     * The parser works out the line of each expression in a multi-line scalar by splitting the text
     * before it: quadratic in a script with thousands of expressions. A block literal with many is
     * handed over as if it were on one line (the parser then places each expression by its offset
     * in the value, in linear time), and each error's position is mapped back to its real line and
     * column (docs/architecture.md §9).
     */
    flatRange(node, range) {
        if (!range || !(0,yaml__WEBPACK_IMPORTED_MODULE_6__/* .isScalar */ .jn)(node) || node.type !== 'BLOCK_LITERAL' || typeof node.value !== 'string')
            return range;
        const value = node.value;
        let count = 0;
        for (let i = value.indexOf('${{'); i >= 0 && count < FLAT_FROM; i = value.indexOf('${{', i + 3))
            count++;
        if (count < FLAT_FROM)
            return range;
        const src = node.srcToken && 'source' in node.srcToken ? String(node.srcToken.source) : value;
        this.flattened.set(range.start.line, {
            startColumn: range.start.column,
            shift: src.indexOf('${{') - value.indexOf('${{'),
            value,
            source: src,
        });
        return { start: range.start, end: { line: range.start.line, column: range.end.column } };
    }
}
/**
 * The event stream of GitHub's reader over a parsed document, as one list built by plain
 * recursion: the same events in the same order as its `getNodes` generator, whose generator per
 * node made every event pass through each level above it. Aliases are expanded as it does
 * (loadWorkflow already refused documents whose expansion is large). test/unit/lint/reader-events
 * checks it against the reader itself.
 */
function readerEvents(doc, fileId, range) {
    const out = [new _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .ParseEvent */ .c(_actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .EventType */ .B.DocumentStart)];
    const walk = (node, resolving) => {
        if ((0,yaml__WEBPACK_IMPORTED_MODULE_6__/* .isSeq */ .oP)(node) || (0,yaml__WEBPACK_IMPORTED_MODULE_6__/* .isMap */ .jh)(node)) {
            const seq = (0,yaml__WEBPACK_IMPORTED_MODULE_6__/* .isSeq */ .oP)(node);
            out.push(seq
                ? new _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .ParseEvent */ .c(_actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .EventType */ .B.SequenceStart, new _actions_workflow_parser_templates_tokens_index__WEBPACK_IMPORTED_MODULE_4__/* .SequenceToken */ .vd(fileId, range(node), undefined))
                : new _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .ParseEvent */ .c(_actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .EventType */ .B.MappingStart, new _actions_workflow_parser_templates_tokens_index__WEBPACK_IMPORTED_MODULE_4__/* .MappingToken */ .eJ(fileId, range(node), undefined)));
            for (const item of node.items)
                walk(item, resolving);
            out.push(new _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .ParseEvent */ .c(seq ? _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .EventType */ .B.SequenceEnd : _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .EventType */ .B.MappingEnd));
        }
        else if ((0,yaml__WEBPACK_IMPORTED_MODULE_6__/* .isScalar */ .jn)(node)) {
            out.push(new _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .ParseEvent */ .c(_actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .EventType */ .B.Literal, literalToken(fileId, range(node), node)));
        }
        else if ((0,yaml__WEBPACK_IMPORTED_MODULE_6__/* .isAlias */ .Vj)(node)) {
            const resolved = node.resolve(doc);
            // A circular alias yields nothing, as in the reader (the schema then reports what is missing).
            if (resolved && !resolving.has(resolved))
                walk(resolved, new Set([...resolving, resolved]));
        }
        else if ((0,yaml__WEBPACK_IMPORTED_MODULE_6__/* .isPair */ .tO)(node)) {
            // A key that is not a scalar throws here as it does in the reader (an SG001, never a crash).
            const key = node.key;
            out.push(new _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .ParseEvent */ .c(_actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .EventType */ .B.Literal, new _actions_workflow_parser_templates_tokens_index__WEBPACK_IMPORTED_MODULE_4__/* .StringToken */ .Hj(fileId, range(key), key.value, undefined)));
            walk(node.value, resolving);
        }
    };
    walk(doc.contents, new Set());
    out.push(new _actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .ParseEvent */ .c(_actions_workflow_parser_templates_parse_event__WEBPACK_IMPORTED_MODULE_3__/* .EventType */ .B.DocumentEnd));
    return out;
}
/** The reader's own scalar-to-token conversion (a private static: the same tokens, the same sources). */
const literalToken = _actions_workflow_parser_workflows_yaml_object_reader__WEBPACK_IMPORTED_MODULE_5__/* .YamlObjectReader */ .M.getLiteralToken.bind(_actions_workflow_parser_workflows_yaml_object_reader__WEBPACK_IMPORTED_MODULE_5__/* .YamlObjectReader */ .M);
/** How many expressions make a block literal worth reading as one line. */
const FLAT_FROM = 64;
/** The real position of an error the parser placed on a flattened block literal. */
function unflatten(f, startLine, column) {
    const offset = column - f.startColumn - f.shift;
    if (offset < 0 || offset > f.value.length)
        return { line: startLine, column };
    const before = f.value.slice(0, offset);
    const k = before.split('\n').length - 1;
    const col = offset - (before.lastIndexOf('\n') + 1);
    const srcLine = f.source.split('\n', k + 1)[k] ?? '';
    const valueLine = f.value.split('\n', k + 1)[k] ?? '';
    const indent = Math.max(0, srcLine.length - valueLine.length);
    return { line: startLine + 1 + k, column: indent + col + 1 };
}
/**
 * The parser's schema (workflow-v1.0) gives `repository-dispatch-string` the constant
 * `branch_protection_rule`, so `on: repository_dispatch` (and `[repository_dispatch]`) is refused as
 * invalid while the runner accepts it (docs/architecture.md §9). Correct that one constant, once, in the
 * schema object the parser caches; any other value of it (a fixed parser) is left alone.
 */
let corrected;
function workflowSchema() {
    if (corrected)
        return corrected;
    const schema = (0,_actions_workflow_parser_workflows_workflow_schema__WEBPACK_IMPORTED_MODULE_2__/* .getWorkflowSchema */ .L)();
    corrected = schema;
    const def = schema.definitions['repository-dispatch-string'];
    if (def && def.constant === 'branch_protection_rule')
        def.constant = 'repository_dispatch';
    return schema;
}
/**
 * Schema, expression and conversion errors of one workflow, 1-based positions. `doc` must be
 * free of YAML errors and of alias bombs (checked by loadWorkflow); this is parseWorkflow() of
 * @actions/workflow-parser over that document.
 */
async function githubParserErrors(doc, lines) {
    const context = new _actions_workflow_parser_templates_template_context__WEBPACK_IMPORTED_MODULE_7__/* .TemplateContext */ .m(new _actions_workflow_parser_templates_template_context__WEBPACK_IMPORTED_MODULE_7__/* .TemplateValidationErrors */ .R(), workflowSchema(), new _actions_workflow_parser__WEBPACK_IMPORTED_MODULE_0__/* .NoOperationTraceWriter */ .P0());
    // One name for every file: errors are read without the parser's "file (Line: x, Col: y)" prefix,
    // and a fresh name per file would give the context's name table a new shape each time.
    const fileId = context.getFileId('workflow.yml');
    const reader = new ParsedDocumentReader(fileId, doc, lines);
    const value = (0,_actions_workflow_parser_templates_template_reader__WEBPACK_IMPORTED_MODULE_1__/* .readTemplate */ .x)(context, _actions_workflow_parser_workflows_workflow_constants__WEBPACK_IMPORTED_MODULE_8__/* .WORKFLOW_ROOT */ .D, reader, fileId);
    const parsed = { context, value };
    // The converter adds the semantic checks (needs, cron, concurrency, matrix). By default it
    // returns the parse errors unchanged when there are any, so it never double-reports.
    if (parsed.value && parsed.context.errors.count === 0) {
        await (0,_actions_workflow_parser__WEBPACK_IMPORTED_MODULE_0__/* .convertWorkflowTemplate */ .DE)(parsed.context, parsed.value);
    }
    const seen = new Set();
    const out = [];
    for (const e of parsed.context.errors.getErrors()) {
        let line = e.range?.start.line ?? 1;
        let column = e.range?.start.column ?? 1;
        const flat = reader.flattened.get(line);
        if (flat)
            ({ line, column } = unflatten(flat, line, column));
        // rawMessage has no "file (Line: x, Col: y): " prefix: the position is reported separately.
        const message = e.rawMessage.trim();
        const key = `${line}:${column}:${message}`;
        if (seen.has(key))
            continue;
        seen.add(key);
        out.push({ line, column, message });
    }
    return out;
}


/***/ })

};
