// The verdict does not depend on which reporter the user passes: `npx vitest run --reporter=junit` (or `dot`, …)
// replaces the configured reporters, and with them the compliance reporter that writes the matrix, JUnit, the Allure
// results, runs the secret scan and sets the exit status. This vitest plugin puts allure-vitest and the compliance
// reporter back after whatever reporters vitest resolved (in that order: the compliance reporter completes what
// allure-vitest wrote), keeping their options when the configuration already had them.
import type { VitestPluginContext } from 'vitest/node';

type ReporterEntry = [unknown, unknown] | unknown;

const ALLURE = 'allure-vitest/reporter';
const COMPLIANCE = './lib/report/reporter.ts';

function nameOf(entry: ReporterEntry): string | undefined {
  const name = Array.isArray(entry) ? entry[0] : entry;
  return typeof name === 'string' ? name : undefined;
}

/** The reporters with allure-vitest and then the compliance reporter last, each once, the user's others kept. */
export function withComplianceReporters(
  reporters: readonly ReporterEntry[],
  allureResultsDir: string,
): ReporterEntry[] {
  const is = (entry: ReporterEntry, wanted: string) => {
    const name = nameOf(entry);
    return name !== undefined && (name === wanted || name.endsWith(wanted.replace(/^\.\//, '/')));
  };
  const allure = reporters.find((entry) => is(entry, ALLURE)) ?? [ALLURE, { resultsDir: allureResultsDir }];
  const compliance = reporters.find((entry) => is(entry, COMPLIANCE)) ?? [COMPLIANCE, {}];
  const others = reporters.filter((entry) => !is(entry, ALLURE) && !is(entry, COMPLIANCE));
  return [...others, allure, compliance];
}

export function verdictPlugin(allureResultsDir: string) {
  return {
    name: 'spire-validation-verdict',
    configureVitest({ vitest }: VitestPluginContext): void {
      const config = vitest.config as unknown as { reporters: ReporterEntry[] };
      config.reporters = withComplianceReporters(config.reporters, allureResultsDir);
    },
  };
}
