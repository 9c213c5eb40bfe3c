import type { EnergyView } from "../bindings/EnergyView";
import type { GridPrices } from "../bindings/GridPrices";
import { perKwh } from "../market/format";
import { GridTrade } from "./GridTrade";
import { Modal } from "./Modal";

type Props = {
  energy: EnergyView;
  grid: GridPrices;
  onPlaceSellOrder: () => void;
  onDone: (message: string) => void;
  onClose: () => void;
};

export function SellOptionsModal({ energy, grid, onPlaceSellOrder, onDone, onClose }: Props) {
  return (
    <Modal title="Sell Energy" description="Choose who gets your surplus energy." onClose={onClose}>
      <div className="options">
        <section className="option" aria-labelledby="sell-grid">
          <h3 id="sell-grid">Sell to Grid</h3>
          <p className="option-tag">Fixed price, instant · {perKwh(grid.sell)}</p>
          <GridTrade direction="sell" price={grid.sell} limit={energy.sellable} onDone={onDone} />
        </section>
        <section className="option option-community" aria-labelledby="sell-community">
          <h3 id="sell-community">Sell to Community</h3>
          <p className="option-tag">Set your own price, P2P market</p>
          <p>Place your energy for sale on the P2P market. Set your ask price and quantity.</p>
          <button type="button" className="button button-primary" onClick={onPlaceSellOrder}>
            Place Sell Order
          </button>
        </section>
      </div>
    </Modal>
  );
}
