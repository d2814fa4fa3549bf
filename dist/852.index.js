export const id = 852;
export const ids = [852];
export const modules = {

/***/ 3852:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   githubParserErrors: () => (/* binding */ githubParserErrors)
/* harmony export */ });
/* harmony import */ var _actions_workflow_parser__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(9431);
/* harmony import */ var _actions_workflow_parser_templates_template_context__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(5071);
/* harmony import */ var _actions_workflow_parser_templates_template_reader__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6074);
/* harmony import */ var _actions_workflow_parser_workflows_workflow_constants__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(6340);
/* harmony import */ var _actions_workflow_parser_workflows_workflow_schema__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(4392);
/* harmony import */ var _actions_workflow_parser_workflows_yaml_object_reader__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(589);
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
class ParsedDocumentReader extends _actions_workflow_parser_workflows_yaml_object_reader__WEBPACK_IMPORTED_MODULE_3__/* .YamlObjectReader */ .M {
    constructor(fileId, doc, lines) {
        super(fileId, '');
        const self = this;
        self.doc = doc;
        self.lineCounter = lines;
        self._generator = self.getNodes(doc, new Set());
    }
}
/**
 * Schema, expression and conversion errors of one workflow, 1-based positions. `doc` must be
 * free of YAML errors and of alias bombs (checked by loadWorkflow); this is parseWorkflow() of
 * @actions/workflow-parser over that document.
 */
async function githubParserErrors(displayName, doc, lines) {
    const context = new _actions_workflow_parser_templates_template_context__WEBPACK_IMPORTED_MODULE_4__/* .TemplateContext */ .m(new _actions_workflow_parser_templates_template_context__WEBPACK_IMPORTED_MODULE_4__/* .TemplateValidationErrors */ .R(), (0,_actions_workflow_parser_workflows_workflow_schema__WEBPACK_IMPORTED_MODULE_2__/* .getWorkflowSchema */ .L)(), new _actions_workflow_parser__WEBPACK_IMPORTED_MODULE_0__/* .NoOperationTraceWriter */ .P0());
    const fileId = context.getFileId(displayName);
    const value = (0,_actions_workflow_parser_templates_template_reader__WEBPACK_IMPORTED_MODULE_1__/* .readTemplate */ .x)(context, _actions_workflow_parser_workflows_workflow_constants__WEBPACK_IMPORTED_MODULE_5__/* .WORKFLOW_ROOT */ .D, new ParsedDocumentReader(fileId, doc, lines), fileId);
    const parsed = { context, value };
    // The converter adds the semantic checks (needs, cron, concurrency, matrix). By default it
    // returns the parse errors unchanged when there are any, so it never double-reports.
    if (parsed.value && parsed.context.errors.count === 0) {
        await (0,_actions_workflow_parser__WEBPACK_IMPORTED_MODULE_0__/* .convertWorkflowTemplate */ .DE)(parsed.context, parsed.value);
    }
    const seen = new Set();
    const out = [];
    for (const e of parsed.context.errors.getErrors()) {
        const line = e.range?.start.line ?? 1;
        const column = e.range?.start.column ?? 1;
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
