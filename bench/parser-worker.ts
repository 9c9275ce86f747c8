import { type FreshJob, timeFresh } from './parser.ts';

const job = JSON.parse(process.argv[2]!) as FreshJob;
const samples = await timeFresh(job);
process.send!(samples, () => process.exit(0));
