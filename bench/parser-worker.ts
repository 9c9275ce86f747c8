import { type ParserJob, timeParser } from './parser.ts';

const job = JSON.parse(process.argv[2]!) as ParserJob;
process.send!(timeParser(job), () => process.exit(0));
