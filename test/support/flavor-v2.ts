/** The real-engine suites of the compose-v2 jest project: product and setup use compose v2. */
process.env.STATEGUARD_COMPOSE = 'v2';
