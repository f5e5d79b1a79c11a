// The drawing as data: the list of shapes drawn so far plus the undone ones, with undo/redo.
// The canvas is always redrawn from this list, so the list is all that has to be persisted.
import type { Shape } from '../../src/extension/sketch/protocol';

export class Drawing {
  constructor(
    private shapes: Shape[] = [],
    private undone: Shape[] = [],
  ) {}

  get all(): readonly Shape[] {
    return this.shapes;
  }

  get redoStack(): readonly Shape[] {
    return this.undone;
  }

  /** The shapes still visible: those after the last `clear`. */
  get visible(): readonly Shape[] {
    const lastClear = this.shapes.map((s) => s.kind).lastIndexOf('clear');
    return this.shapes.slice(lastClear + 1);
  }

  get isEmpty(): boolean {
    return this.visible.length === 0;
  }

  get canUndo(): boolean {
    return this.shapes.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  /** A new step; it makes the undone steps unreachable, as in every editor. */
  add(shape: Shape): void {
    this.shapes.push(shape);
    this.undone = [];
  }

  clear(): void {
    if (!this.isEmpty) this.add({ kind: 'clear' });
  }

  undo(): void {
    const shape = this.shapes.pop();
    if (shape) this.undone.push(shape);
  }

  redo(): void {
    const shape = this.undone.pop();
    if (shape) this.shapes.push(shape);
  }
}
