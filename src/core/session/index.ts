/**
 * The decision engine both front ends call: plan(statement, session) ->
 * status | cache hit | wait | lead+capture | batch | forward(target), and
 * the session effects once a response ends. Protocol-blind.
 */
export { SessionEngine, type EngineServices, type Plan, type PlanRequest, type Target } from './engine.ts';
export { CacheCapture } from './capture.ts';
export { SessionState } from './session-state.ts';
export { applyEffects, type ResponseOutcome } from './effects.ts';
