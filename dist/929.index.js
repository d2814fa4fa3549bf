export const id = 929;
export const ids = [929];
export const modules = {

/***/ 2929:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   runAction: () => (/* binding */ runAction)
/* harmony export */ });
/* unused harmony exports realCore, inputEnvName, actionInputs, readActionInputs, publish */
/* harmony import */ var _actions_core__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6421);
/* harmony import */ var _commands_index_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(9101);
/* harmony import */ var _commands_inputs_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(7521);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(3916);
/* harmony import */ var _compose_env_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(1973);
/* harmony import */ var _run_command_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(2530);
/* harmony import */ var _report_scrub_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(8289);
/* harmony import */ var _runtime_select_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(3270);
/**
 * The action side: INPUT_* variables -> typed options (through the command's one input
 * definition) -> command -> outputs, job summary, annotations, exit status.
 *
 * The runner sets `INPUT_<NAME>` with the name upper-cased and spaces replaced by `_`; hyphens are
 * kept (`INPUT_BACKUP-REF`). Every value leaving here goes through the Scrubber.
 */








const realCore = {
    setOutput: _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .setOutput */ .uH,
    setSecret: _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .setSecret */ .Pq,
    setFailed: _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .setFailed */ .C1,
    info: _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .info */ .pq,
    warning: _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e,
    error: _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .error */ .z3,
    notice: _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .notice */ .lm,
    writeSummary: async (md) => {
        await _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .summary */ .z.addRaw(md, true).write();
    },
};
function inputEnvName(name) {
    return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}
/** The inputs an action reads: its command's inputs that are not CLI-only. */
function actionInputs(spec) {
    return spec.inputs.filter((d) => !d.cliOnly);
}
/**
 * Inputs compared byte for byte by the command, so never trimmed here. `confirm` is the operator's
 * assertion that the backup is done and must equal the token exactly (docs/architecture.md §4), as it does on
 * the CLI; @actions/core's getInput would trim it, which would turn " BACKUP_DONE " into a match.
 * The guard then names the difference ("surrounding whitespace") without echoing the value.
 */
const EXACT_INPUTS = new Set(['confirm']);
function readActionInputs(spec, env) {
    const raw = {};
    for (const def of actionInputs(spec)) {
        // Composite steps and some runners can only pass `INPUT_BACKUP_REF` (no hyphen): accept both.
        const v = env[inputEnvName(def.name)] ?? env[inputEnvName(def.name).replace(/-/g, '_')];
        // The runner trims nothing; a lone newline or spaces count as "not given" for free text.
        // Booleans are never trimmed: `" true"` is not `true` here any more than on the CLI.
        if (v !== undefined)
            raw[def.name] = def.kind === 'list' || def.kind === 'boolean' || EXACT_INPUTS.has(def.name) ? v : v.trim();
    }
    return raw;
}
function place(a) {
    if (!a)
        return undefined;
    return { file: a.file, startLine: a.line, startColumn: a.column, title: a.title };
}
/** Run the action for `name` (or, for the root action, the `command` input). Returns the exit code. */
async function runAction(name, io) {
    const c = io.core ?? realCore;
    const scrub = new _report_scrub_js__WEBPACK_IMPORTED_MODULE_6__/* .Scrubber */ .h6();
    const commandName = name ?? io.env[inputEnvName('command')]?.trim() ?? '';
    const spec = (0,_commands_index_js__WEBPACK_IMPORTED_MODULE_1__/* .getCommand */ .O)(commandName);
    let result;
    if (!spec) {
        result = (0,_run_command_js__WEBPACK_IMPORTED_MODULE_5__/* .errorResult */ .W)(undefined, new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .UserError */ .yo(`input 'command' must be one of plan, guard, apply, verify-backup, snapshot, e2e-gate, lint-workflows, ` +
            `validate; got ${JSON.stringify(commandName)}.`, { input: 'command' }));
        result.outputs['failure-reason'] = 'invalid-input';
    }
    else {
        const log = {
            info: (m) => c.info(scrub.scrub(m)),
            warn: (m, w) => c.warning(scrub.scrub(m), place(w)),
            error: (m, w) => c.error(scrub.scrub(m), place(w)),
            notice: (m, w) => c.notice(scrub.scrub(m), place(w)),
            raw: (chunk) => c.info(scrub.scrub(chunk.replace(/\n$/, ''))),
        };
        const ctx = {
            cwd: io.cwd,
            env: io.env,
            log,
            now: io.now ?? (() => new Date()),
            runtime: (0,_runtime_select_js__WEBPACK_IMPORTED_MODULE_7__/* .runtimeSelector */ .Q)(io.env, io.runtime),
            inAction: true,
            addSecret: (v) => {
                scrub.add(v);
                if (v)
                    c.setSecret(v);
            },
        };
        // Secret inputs are masked in the runner before anything else runs.
        for (const def of actionInputs(spec)) {
            const v = io.env[inputEnvName(def.name)];
            if (def.secret && v)
                ctx.addSecret(v.trim());
        }
        try {
            (0,_compose_env_js__WEBPACK_IMPORTED_MODULE_4__/* .checkComposeFlavorEnv */ .GU)(io.env);
            const options = (0,_commands_inputs_js__WEBPACK_IMPORTED_MODULE_2__/* .parseInputs */ .TL)(actionInputs(spec), readActionInputs(spec, io.env), _commands_inputs_js__WEBPACK_IMPORTED_MODULE_2__/* .actionNames */ .Bk);
            if ('json' in options)
                options.json = false;
            result = await (0,_run_command_js__WEBPACK_IMPORTED_MODULE_5__/* .runCommand */ .d)(spec, options, ctx);
        }
        catch (err) {
            result = (0,_run_command_js__WEBPACK_IMPORTED_MODULE_5__/* .errorResult */ .W)(spec, err);
        }
    }
    return publish(result, c, scrub);
}
/** Publish a result to the runner. Exported for tests. */
async function publish(result, c, scrub) {
    if (result.text)
        c.info(scrub.scrub(result.text));
    for (const [k, v] of Object.entries(result.outputs))
        c.setOutput(k, scrub.scrub(v));
    for (const a of result.annotations ?? [])
        annotate(c, a, scrub);
    if (result.summary) {
        try {
            await c.writeSummary(scrub.scrub(result.summary) + '\n');
        }
        catch (err) {
            // A summary is a convenience: failing to write it never changes the verdict.
            c.warning(`could not write the job summary: ${err instanceof Error ? err.message : String(err)}`);
        }
    }
    // Only the two "yes" codes pass the step (2 is plan's drift, which is not a "no" for an action).
    // Anything else — 1, 3, or a value no command should return — fails it: an unexpected exit code
    // is never read as success.
    if (result.exitCode === _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ExitCode */ .yU.ok || result.exitCode === _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ExitCode */ .yU.drift)
        return _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ExitCode */ .yU.ok;
    const reason = result.failureReason ? ` (failure-reason: ${result.failureReason})` : '';
    c.setFailed(scrub.scrub(`${firstLine(result.text ?? '') || 'stateguard said no'}${reason}`));
    return result.exitCode === _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ExitCode */ .yU.no ? _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ExitCode */ .yU.no : _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .ExitCode */ .yU.couldNotRun;
}
function annotate(c, a, scrub) {
    const msg = scrub.scrub(a.message);
    if (a.level === 'error')
        c.error(msg, place(a));
    else if (a.level === 'warning')
        c.warning(msg, place(a));
    else
        c.notice(msg, place(a));
}
function firstLine(text) {
    return text.split('\n')[0] ?? '';
}


/***/ })

};
