// Every page generated in this window, numbered, so that earlier versions stay reachable (as
// read-only documents, see version-documents.ts) and any two can be diffed.

export interface PageVersion {
  /** 1, 2, ... in order of generation. */
  number: number;
  /** What made it: "Generated from 2 images" or the refinement instruction. */
  label: string;
  html: string;
  /** Versions of one conversation share a thread number. */
  thread: number;
  created: Date;
}

export class VersionStore {
  private readonly versions: PageVersion[] = [];

  add(thread: number, label: string, html: string, created = new Date()): PageVersion {
    const version = { number: this.versions.length + 1, label, html, thread, created };
    this.versions.push(version);
    return version;
  }

  get(number: number): PageVersion | undefined {
    return this.versions[number - 1];
  }

  get all(): readonly PageVersion[] {
    return this.versions;
  }

  /** Versions of one conversation, oldest first. */
  ofThread(thread: number): PageVersion[] {
    return this.versions.filter((v) => v.thread === thread);
  }
}
