import type { EnergyView } from "../bindings/EnergyView";
import type { GridPrices } from "../bindings/GridPrices";
import { perKwh } from "../market/format";
import { GridTrade } from "./GridTrade";
import { Modal } from "./Modal";

type Props = {
  energy: EnergyView;
  grid: GridPrices;
  onViewOffers: () => void;
  onDone: (message: string) => void;
  onClose: () => void;
};

export function BuyOptionsModal({ energy, grid, onViewOffers, onDone, onClose }: Props) {
  return (
    <Modal title="Buy Energy" description="Choose where your energy comes from." onClose={onClose}>
      <div className="options">
        <section className="option" aria-labelledby="buy-grid">
          <h3 id="buy-grid">Buy from Grid</h3>
          <p className="option-tag">Fixed price, instant · {perKwh(grid.buy)}</p>
          <GridTrade direction="buy" price={grid.buy} limit={energy.headroom} onDone={onDone} />
        </section>
        <section className="option option-community" aria-labelledby="buy-community">
          <h3 id="buy-community">Buy from Community</h3>
          <p className="option-tag">Dynamic price, P2P market</p>
          <p>View and purchase from existing market sell orders placed by your neighbors.</p>
          <button type="button" className="button button-primary" onClick={onViewOffers}>
            View Market Offers
          </button>
        </section>
      </div>
    </Modal>
  );
}
