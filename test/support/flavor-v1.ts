/** The real-engine suites of the compose-v1 jest project: product and setup use compose v1. */
process.env.STATEGUARD_COMPOSE = 'v1';
