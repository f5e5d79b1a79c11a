// The sketch panel's messages, both ways, and the state the webview persists. Imported by the host
// (sketch-panel.ts) and by the webview app (webview/sketch/), so both ends agree by construction.
import type { HtmlTarget } from '../../prompts';

/** An image the user added (pasted, dropped, captured) or the drawing, as a data: URL. */
export interface SketchImage {
  name: string;
  /** data:image/png;base64,... (or jpeg/webp/gif) */
  dataUrl: string;
}

export type Point = readonly [x: number, y: number];

/** One step of the drawing, in canvas pixels. `clear` is a step too, so clearing can be undone. */
export type Shape =
  | { kind: 'pen'; color: string; width: number; points: Point[] }
  | { kind: 'eraser'; width: number; points: Point[] }
  | { kind: 'line' | 'rect' | 'ellipse'; color: string; width: number; from: Point; to: Point }
  | { kind: 'text'; color: string; size: number; at: Point; text: string }
  | { kind: 'clear' };

export type Tool = 'pen' | 'line' | 'rect' | 'ellipse' | 'text' | 'eraser';

/** What the webview keeps with vscode.setState: it survives the panel being hidden and, through
 *  the panel serializer, VS Code restarting. */
export interface SketchState {
  version: 1;
  shapes: Shape[];
  /** Undone steps, newest last, until a new step is drawn. */
  redo: Shape[];
  images: SketchImage[];
  instruction: string;
  target: HtmlTarget;
  tool: Tool;
  color: string;
  width: number;
}

/** What the panel shows about the generation it started (GitLens' loading/progress/error rule:
 *  nothing spins forever, every failure is on screen). */
export interface SketchStatus {
  busy: boolean;
  /** The current stage ("reading the prompt (…)"), or the last outcome. */
  stage: string;
  error: string | undefined;
  /** A page was generated in this conversation, so an instruction can refine it. */
  canRefine: boolean;
  /** Versions of the page so far (two or more can be compared). */
  versions: number;
}

export type GenerateMode = 'new' | 'refine';

export type SketchToHost =
  | { type: 'ready' }
  | { type: 'generate'; mode: GenerateMode; images: SketchImage[]; instruction: string; target: HtmlTarget }
  | { type: 'stop' }
  | { type: 'capture' }
  /** Files dropped from the VS Code explorer arrive as URIs the webview cannot read itself. */
  | { type: 'dropUris'; uris: string[] }
  | { type: 'compare' };

export type SketchToWebview =
  | { type: 'status'; status: SketchStatus }
  | { type: 'addImage'; image: SketchImage }
  /** A one-line message for the user (e.g. no screen capture tool on this machine). */
  | { type: 'notice'; text: string };

export const SKETCH_VIEW_TYPE = 'pixtral.sketch';
/** Canvas size in pixels: the drawing is sent at this size (the model reads up to 1024 px). */
export const CANVAS_WIDTH = 1024;
export const CANVAS_HEIGHT = 768;
