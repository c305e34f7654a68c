# Databricks notebook source
# MAGIC %md
# MAGIC # MLflow を使用した実験の追跡 (Spark ML)
# MAGIC
# MAGIC > **注:** このノートブックのコード セルは英語版と同じです。そのため、セルの出力とウィジェットのラベルは英語で表示されます。
# MAGIC
# MAGIC ## 実験を実行する
# MAGIC この演習では、NYC タクシーのデータセットを使用して、ニューヨーク市タクシー・リムジン委員会 (NYC Taxi & Limousine Commission) のグリーン タクシーの乗車記録の一部から、タクシー乗車の合計料金を予測するモデルをトレーニングします。1 つの線形回帰モデルの **ハイパーパラメーター** を変えながら複数のバリエーションをトレーニングし、より良いパフォーマンスを目指します。
# MAGIC
# MAGIC これはラボの **Spark ML** 版です。Spark DataFrame、Spark ML の `Pipeline` と `LinearRegression` を使用します。ノートブック `01-using-mlflow-to-track-experiments` では、同じ MLflow の内容を scikit-learn で学びます。
# MAGIC
# MAGIC MLflow を使用して、各試行のパラメーター、メトリック、モデル、プロットをログに記録します。MLflow では **実験** を作成します。実験は **実行** の集まりで、1 つの実行が 1 回のトレーニングの試行です。ここでは、同じアルゴリズムとデータに対して実行ごとに異なるハイパーパラメーターを試すので、どれが最も良い結果になるかを比較できます。
# MAGIC
# MAGIC ### コンピューティングを選ぶ
# MAGIC このノートブックを **サーバーレス** コンピューティング (Databricks Free Edition にはサーバーレスしかありません) にアタッチし、サーバーレス環境バージョン 5 (標準の基本環境。MLflow 3.8.1 が含まれています) を使います。依存関係を 2 つ、`scikit-learn` と `matplotlib` をバージョンを指定せずに追加します (環境にすでにある場合、pip はそのまま使います)。この設定は、ノートブックごとに **[環境]** サイド パネルで行います。または、Spark、MLflow、matplotlib が含まれる **Databricks Runtime for Machine Learning** を実行しているクラスターにアタッチします。LTS の ML ランタイム 15.4 または 16.4 (Spark 3.5) では専用アクセス モード、17.3 または 18 (Spark 4) ではどちらのアクセス モードも使えます (標準アクセス モードで Spark ML を実行できるのは Databricks Runtime 17.0 以降です)。次のセルでは、ラボの Spark 用セットアップ ノートブックを実行します。このノートブックは `load_spark_trips()` といくつかのヘルパー関数を定義します。

# COMMAND ----------

# DBTITLE 1,ラボのセットアップ ノートブックを実行する
# MAGIC %run ./includes/spark_setup

# COMMAND ----------

# DBTITLE 1,ライブラリをインポートする
import math
import os
import tempfile

import matplotlib.pyplot as plt
import mlflow
import mlflow.spark
import numpy as np
from mlflow.models import infer_signature
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import Imputer, MinMaxScaler, OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql import functions as F  # noqa: N812 (PySpark's usual name)

print(f"Loaded libraries: MLflow {mlflow.__version__}, Spark {spark.version}")
print(f"Compute: {compute_description()}")

# COMMAND ----------

# MAGIC %md
# MAGIC ### パラメーター
# MAGIC 既定値を使用するには、3 つのパラメーターを空欄のままにします。`data_path` は乗車データの CSV ファイル (空欄: `nyc_taxi` テーブル、なければラボのデータ)、`experiment_name` はこのノートブックの実行を受け取る MLflow の実験、`volume` は、サーバーレス コンピューティングと標準アクセス モードで `mlflow.spark` がモデルのファイルを受け渡す Unity Catalog ボリューム (`catalog.schema.volume`) です (空欄: 現在のカタログとスキーマにある自分用のボリューム `dp090_mlflow_lab_<your short name>`。必要なら作成します)。
# MAGIC
# MAGIC Databricks の ML ランタイムでは、MLflow の **自動ログ記録** (autologging) が有効になっています。自動ログ記録は、Spark ML のモデルの当てはめ (fit) をすべて自動的に記録します。このラボでは、すべての呼び出しを見せるために各実行を手動でログに記録するので、このセルでこのノートブックの自動ログ記録を無効にします。

# COMMAND ----------

# DBTITLE 1,パラメーター: データと実験
dbutils.widgets.text("data_path", "", "Trips CSV (blank: nyc_taxi table)")
dbutils.widgets.text("experiment_name", "", "MLflow experiment (blank: default)")
dbutils.widgets.text("volume", "", "Volume for model files (blank: default)")

data_path = dbutils.widgets.get("data_path")
# The scikit-learn notebook's default experiment name, with "-spark-ml" added.
experiment_name = dbutils.widgets.get("experiment_name") or default_experiment_name() + "-spark-ml"

# Where mlflow.spark stages a model's files: a folder of the volume on serverless and standard access mode, else None.
model_dfs_tmpdir = spark_model_volume(dbutils.widgets.get("volume"))
if model_dfs_tmpdir:
    print(f"Model files pass through {model_dfs_tmpdir}")

# Every run this notebook starts goes to this experiment; it is created if it does not exist yet.
experiment = mlflow.set_experiment(experiment_name)
print(f"MLflow experiment: {experiment.name} (id {experiment.experiment_id})")

# Log by hand only: no automatic runs for the Spark ML fits of this notebook.
mlflow.autolog(disable=True)

# COMMAND ----------

# MAGIC %md
# MAGIC ## トレーニング データを読み込む
# MAGIC 各行は 1 回のタクシー乗車で、乗客数、乗車距離、時刻、曜日と月、祝日と天候の情報、そしてモデルが予測する乗車の合計金額が含まれます。次のセルを実行して、データを Spark DataFrame に読み込んで確認します (**SYNTHETIC** の乗車データでは、数値が異なります)。

# COMMAND ----------

# DBTITLE 1,データを読み込む
trips, trips_source = load_spark_trips(data_path)
print(f"Loaded {trips.count():,} trips from {trips_source}")
display(trips)

# COMMAND ----------

# MAGIC %md
# MAGIC ### データの特徴量を作成する
# MAGIC 次のセルは、コースの前のラボと同じようにデータを準備します。`hour_of_day` は正弦と余弦に変換します。`Imputer`、`MinMaxScaler`、`StringIndexer`、`OneHotEncoder` が列の欠損値の補完、スケーリング、エンコードを行い、`VectorAssembler` がそれらを 1 つのベクトル列 `features` にまとめます。データは `randomSplit` と固定のシードで 70/30 に分割します。特徴量作成用の `Pipeline` は **トレーニング データだけで** 当てはめます。コンピューティングが許す場合は、両方の DataFrame をキャッシュします (`cache_if_supported`)。

# COMMAND ----------

# DBTITLE 1,特徴量を作成して分割する
hour_angle = F.col("hour_of_day") * (2.0 * math.pi / 24)
trips_clean = (
    trips.withColumn("hour_sine", F.sin(hour_angle))
    .withColumn("hour_cosine", F.cos(hour_angle))
    .drop("hour_of_day")
    .filter(F.col("totalAmount").isNotNull())
    # isPaidTimeOff (true or false) as an integer, and all three whole-number columns as 64-bit integers:
    # Spark's long is pandas' int64, so the logged model also takes a pandas DataFrame (MLflow's pyfunc flavor).
    .withColumns({column: F.col(column).cast("long") for column in ["isPaidTimeOff", "day_of_week", "month_num"]})
    # A trip on no holiday has the holiday name "None" in the course's table; fill it in where it is missing.
    .fillna({"normalizeHolidayName": "None"})
)

numerical_cols = ["passengerCount", "tripDistance", "snowDepth", "precipTime", "precipDepth", "temperature",
                  "hour_sine", "hour_cosine"]
categorical_cols = ["day_of_week", "month_num", "normalizeHolidayName", "isPaidTimeOff"]
label_column = "totalAmount"
feature_columns = numerical_cols + categorical_cols

index_cols = [f"{column}_index" for column in categorical_cols]
vector_cols = [f"{column}_vector" for column in categorical_cols]
featurizer = Pipeline(stages=[
    Imputer(strategy="median", inputCols=["passengerCount"], outputCols=["passengerCount"]),
    VectorAssembler(inputCols=numerical_cols, outputCol="numerical_features"),
    MinMaxScaler(inputCol="numerical_features", outputCol="scaled_numerical_features"),
    StringIndexer(inputCols=categorical_cols, outputCols=index_cols, handleInvalid="keep"),
    OneHotEncoder(inputCols=index_cols, outputCols=vector_cols),
    VectorAssembler(inputCols=vector_cols + ["scaled_numerical_features"], outputCol="features"),
])

train_df, test_df = trips_clean.randomSplit([0.7, 0.3], seed=97)
train_df, test_df = cache_if_supported(train_df), cache_if_supported(test_df)
featurizer_model = featurizer.fit(train_df)

feature_count = featurizer_model.transform(train_df.limit(1)).first()["features"].size
print(f"Created datasets: {train_df.count():,} training rows, {test_df.count():,} test rows")
print(f"Each trip becomes one features vector of {feature_count} numbers")

# COMMAND ----------

# MAGIC %md
# MAGIC ### 回帰の品質をプロットする
# MAGIC この関数は、テスト セットの各乗車を、実際の料金 (x) と予測した料金 (y) の位置に赤い点として対数軸上に描きます。完璧なモデルなら、すべての点が青い対角線上に並びます。関数はプロットを PNG ファイルとして保存し、トレーニング関数がそのファイルを MLflow でログに記録します。

# COMMAND ----------

# DBTITLE 1,プロット関数
def plot_regression_quality(predictions, label_column, png_path, max_points=10_000):
    count = predictions.count()
    if count > max_points:
        predictions = predictions.sample(fraction=max_points / count, seed=97)
    # collect(), not toPandas(): two columns of numbers need no pandas (and Spark 4.0's toPandas() warns with pandas 3)
    rows = predictions.select(label_column, "prediction").collect()
    actual = np.array([row[label_column] for row in rows])
    predicted = np.array([row["prediction"] for row in rows])

    figure, axes = plt.subplots(figsize=(8, 8))
    axes.scatter(actual, predicted, c="crimson", s=6, alpha=0.5)
    axes.set_xscale("log")
    axes.set_yscale("log")

    # Log axes show positive values only; the diagonal spans the positive range of both.
    values = np.concatenate([actual, predicted])
    low, high = values[values > 0].min(), values.max()
    axes.plot([low, high], [low, high], "b-")
    axes.set_xlabel("True values", fontsize=15)
    axes.set_ylabel("Predictions", fontsize=15)

    figure.savefig(png_path)
    plt.close(figure)
    return figure

# COMMAND ----------

# MAGIC %md
# MAGIC ### MLflow の実行を作成する
# MAGIC 次の関数は、Spark ML の `LinearRegression` の 3 つのハイパーパラメーターを使って、`train_df` で線形回帰モデルをトレーニングし、`test_df` で評価します。
# MAGIC - `elastic_net_param` (`elasticNetParam`): ElasticNet の混合パラメーター。0 は純粋な L2 ペナルティ (リッジ)、1 は純粋な L1 ペナルティ (ラッソ) です。
# MAGIC - `reg_param` (`regParam`): そのペナルティ (正則化) の強さ。0 はペナルティなしを意味します。
# MAGIC - `max_iter` (`maxIter`): ソルバーが行える反復の最大回数。
# MAGIC
# MAGIC 関数は 1 つの MLflow の実行の中で、次のものを記録します。
# MAGIC * パラメーター (`mlflow.log_params` を使用)
# MAGIC * `RegressionEvaluator` で計算したメトリック RMSE、MAE、R² (`mlflow.log_metrics` を使用)
# MAGIC * モデル (`mlflow.spark.log_model` を使用)。当てはめ済みの特徴量の作成と回帰を 1 つの `PipelineModel` にまとめたもので、乗車データの列をそのまま受け取ります。`dfs_tmpdir` は、Spark が最初にそのファイルを書き込む場所です (必要な場合は *パラメーター* のセルのボリュームのフォルダー、それ以外は `None`)
# MAGIC * 任意のファイル。ここでは、予測金額と実際の金額のプロット (`mlflow.log_artifact` を使用)
# MAGIC
# MAGIC **ヒント:** 新しい MLflow の実行を作成するには `with mlflow.start_run():` を使用します。これは、ノートブックのセルで MLflow を使用するときに推奨される方法です。コードが完了しても失敗しても `with` ブロックが実行を終了するため、`mlflow.end_run()` を呼び出す必要はありません。

# COMMAND ----------

# DBTITLE 1,トレーニング関数
# pyspark, mlflow, pandas and numpy at this compute's versions: the packages the model needs (see the setup notebook).
model_requirements = spark_model_requirements()


def eval_metrics(predictions, label_column):
    evaluator = RegressionEvaluator(labelCol=label_column, predictionCol="prediction")
    rmse = evaluator.setMetricName("rmse").evaluate(predictions)
    mae = evaluator.setMetricName("mae").evaluate(predictions)
    r2 = evaluator.setMetricName("r2").evaluate(predictions)
    return rmse, mae, r2


def train_nyc_taxi(train_df, test_df, label_column, elastic_net_param, reg_param, max_iter):
    check_hyperparameters(elastic_net_param, reg_param, max_iter)  # before a run is started for them
    lr = LinearRegression(featuresCol="features", labelCol=label_column,
                          elasticNetParam=elastic_net_param, regParam=reg_param, maxIter=max_iter)

    # Start an MLflow run; the "with" keyword ensures we'll close the run even if this cell crashes
    with mlflow.start_run() as run:
        lr_model = lr.fit(featurizer_model.transform(train_df))
        # The fitted featurization and the regression as one model, from the trips' columns to a prediction
        model = PipelineModel(stages=[featurizer_model, lr_model])
        # Keep the two columns the evaluation needs, cached: the metrics and the plot read them several times
        predictions = cache_if_supported(model.transform(test_df).select(label_column, "prediction"))
        (rmse, mae, r2) = eval_metrics(predictions, label_column)

        # Print out model metrics
        print(f"Linear regression model (elastic_net_param={elastic_net_param}, reg_param={reg_param}, "
              f"max_iter={max_iter}):")
        iterations = lr_model.summary.totalIterations
        if iterations == 0:
            print("  solved in closed form (normal equations); max_iter does not apply")
        elif iterations >= max_iter:
            print(f"  the solver took {iterations} of at most {max_iter} iterations: stopped by max_iter")
        else:
            print(f"  the solver took {iterations} of at most {max_iter} iterations")
        print(f"  RMSE: {rmse:.4f}")
        print(f"  MAE:  {mae:.4f}")
        print(f"  R2:   {r2:.4f}")

        # Log hyperparameters and evaluation metrics for the MLflow UI
        mlflow.log_params({"elastic_net_param": elastic_net_param, "reg_param": reg_param, "max_iter": max_iter})
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # Log the model itself, with the input columns and output it expects (its signature)
        signature = infer_signature(test_df.select(feature_columns), predictions.select("prediction"))
        mlflow.spark.log_model(model, "model", signature=signature, pip_requirements=model_requirements,
                               dfs_tmpdir=model_dfs_tmpdir)

        # Generate a plot and log it (an artifact: any file you want to keep with the run)
        png_path = os.path.join(tempfile.mkdtemp(), "LinearRegressionPrediction.png")
        figure = plot_regression_quality(predictions, label_column, png_path)
        mlflow.log_artifact(png_path)

    return {"run_id": run.info.run_id, "rmse": rmse, "mae": mae, "r2": r2, "iterations": iterations,
            "predictions": predictions, "figure": figure}

# COMMAND ----------

# MAGIC %md
# MAGIC ## さまざまなパラメーターで試す
# MAGIC さまざまなパラメーターで `train_nyc_taxi` を呼び出します。後で、これらの各実行を MLflow の実験で確認します。最初の実行は、ペナルティをまったく使用せず (`reg_param = 0`)、反復は 1 回 (`max_iter = 1`) です。

# COMMAND ----------

# DBTITLE 1,実行 1: 最小二乗法
# L2 penalty, regularization parameter 0.0, 1 iteration
run_1 = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.0, 1)

# COMMAND ----------

# MAGIC %md
# MAGIC R² は、テスト データにおける合計金額の分散のうち、モデルが説明できる割合です (1 なら完璧です)。RMSE と MAE は、予測がドル単位でどれだけずれているかを見積もります。RMSE は、MAE よりも大きく外れた値に大きなペナルティを与えます。次のセルは、この実行の数値を文章で示し、そのプロットを表示します。赤い点が青い線に近いほど、良いモデルです。
# MAGIC
# MAGIC L1 ペナルティがない場合、Spark はまず **閉形式** を試します。閉形式では `max_iter` は関係しません。ラボのデータでは閉形式が失敗し (一部の特徴量がほかの特徴量から計算できるため)、Spark が代わりに使用する **反復ソルバー** は、`max_iter = 1` により 1 回の反復で停止します。そのため、この最初のモデルは最小二乗法の最良の当てはめではありません。このセルは、今回の実行で実際に何が起きたかを表示します。

# COMMAND ----------

print(f"The model explains {run_1['r2']:.0%} of the variance of totalAmount in the test data.")
print(f"Its predictions are off by ${run_1['mae']:.2f} on average (MAE); RMSE is ${run_1['rmse']:.2f}.")
if run_1["iterations"] == 0:
    print("Spark solved least squares in closed form: max_iter = 1 did not limit it.")
else:
    print(f"Spark fell back to the iterative solver, which stopped after {run_1['iterations']} iteration(s).")
display(run_1["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ハイパーパラメーターの組み合わせを変えてモデルを試すのは、関数への入力を変えるだけで簡単にできます。この実行では、強さ 0.3 の純粋な L1 ペナルティ (`elastic_net_param = 1.0`) を使用し、ソルバーに 50 回の反復を許可します。それまでに収束しなかった場合、関数は `max_iter` によって停止したことを出力します。

# COMMAND ----------

# DBTITLE 1,実行 2: L1 ペナルティ
# L1 penalty, regularization parameter 0.3, 50 iterations
run_2 = train_nyc_taxi(train_df, test_df, label_column, 1.0, 0.3, 50)

# COMMAND ----------

# MAGIC %md
# MAGIC 最初の実行と比べてどうでしょうか。RMSE と MAE は低いほど、R² は高いほど良い結果です。次のセルでは、テスト セットの乗車のうち最も安い 4 分の 1 (プロットの左下の隅) について、各モデルが実際の料金より高く予測した割合も数えます。この割合が大半を占めるモデルは、安い乗車で料金を高めに見積もる傾向があります。

# COMMAND ----------

# DBTITLE 1,実行 1 と 2 を比較する
compare_runs(run_2, run_1, "run 2", "run 1")
for name, result in [("run 1", run_1), ("run 2", run_2)]:
    share = spark_share_predicted_high_on_cheap_rides(result["predictions"], label_column)
    print(f"{name}: predicted more than the actual fare for {share:.0%} of the cheapest quarter of rides")
display(run_2["figure"])

# COMMAND ----------

# DBTITLE 1,実行 3: L1 と L2 の混合
# 50/50 mixed L1 and L2, regularization parameter 0.9, 1000 iterations
run_3 = train_nyc_taxi(train_df, test_df, label_column, 0.5, 0.9, 1000)

# COMMAND ----------

# DBTITLE 1,実行 3 を比較する
compare_runs(run_3, run_1, "run 3", "run 1")
compare_runs(run_3, run_2, "run 3", "run 2")
share = spark_share_predicted_high_on_cheap_rides(run_3["predictions"], label_column)
print(f"run 3: predicted more than the actual fare for {share:.0%} of the cheapest quarter of rides")
display(run_3["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ## 実験のメトリックを確認する
# MAGIC
# MAGIC これで、この情報は MLflow 追跡サーバーに保存されました。ユーザー インターフェイスで確認します。
# MAGIC
# MAGIC 1. ノートブックの右側のサイド パネルで **[実験]** アイコン (フラスコ) を選択します。パネルには、このノートブックの実験の実行が、パラメーターとメトリックと共に一覧表示されます。3 つの実行を比較してください。RMSE が最も低いのはどの実行でしょうか。
# MAGIC 1. 実行の名前を選択して、その **実行の詳細ページ** を開きます。パラメーター、メトリック、タグ、**成果物** が表示されます。成果物は、プロット `LinearRegressionPrediction.png` と、`spark` フレーバーのモデルである `model` フォルダーです。
# MAGIC 1. 実験のページで 3 つの実行を選択し、**[比較]** を選択すると、パラメーターとメトリックを並べて比較できます。
# MAGIC
# MAGIC Databricks の外でラボを実行していますか。ラボ ガイド `docs/lab-guide.ja.md` で、MLflow の UI で同じ画面を確認する方法を説明しています。
# MAGIC
# MAGIC ### プログラムで実験、実行、および実行の詳細を表示する
# MAGIC
# MAGIC `MlflowClient` を使用して、コードから実験の詳細を取得することもできます。まず、表示できる実験を `last_update_time` の新しいものから順に一覧表示します。名前に反して、この時刻は実行がログに記録されても変わりません。変わるのは、実験の名前が変更されたとき、削除されたとき、または復元されたときだけです。

# COMMAND ----------

# DBTITLE 1,実験を一覧表示する
from mlflow.tracking import MlflowClient

client = MlflowClient()
experiments = client.search_experiments(order_by=["last_update_time DESC"], max_results=10)
for listed in experiments:
    print(f"{listed.experiment_id:>20}  {listed.name}")

# COMMAND ----------

# MAGIC %md
# MAGIC このラボの実験は、一覧内の位置ではなく、フィルターを使って名前で選びます。次に、`mlflow.search_runs` が実験の実行を pandas DataFrame として返します。1 行が 1 つの実行で、ログに記録されたメトリック (`metrics.*`)、パラメーター (`params.*`)、タグ (`tags.*`) が含まれます。

# COMMAND ----------

# DBTITLE 1,このラボの実験の実行
[lab_experiment] = client.search_experiments(filter_string=f"name = {quoted(experiment.name)}")
experiment_id = lab_experiment.experiment_id
runs_df = mlflow.search_runs([experiment_id])

display(runs_df)

# COMMAND ----------

# MAGIC %md
# MAGIC 次に、この実験の最後の実行 (開始時刻が最も新しいもの) を取得します。`data.metrics` には、その実行のメトリックがキーと値のペアとして 1 つずつ含まれます。最新の実行が最も良い実行とは限りません。その次のセルは、最も良い実行を見つけるために、実行をメトリックで並べ替えます (RMSE の低い順)。

# COMMAND ----------

# DBTITLE 1,最新の実行のメトリック
runs = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
last_run = runs[0]
last_run.data.metrics

# COMMAND ----------

# DBTITLE 1,RMSE による最良の実行
best_run = client.search_runs([experiment_id], order_by=["metrics.rmse ASC"], max_results=1)[0]
best_params = ", ".join(f"{name}={value}" for name, value in sorted(best_run.data.params.items()))
print(f"Lowest RMSE: {best_run.data.metrics['rmse']:.4f}, run {best_run.info.run_id} ({best_params})")
print(f"The latest run, {last_run.info.run_id}, has RMSE {last_run.data.metrics['rmse']:.4f}")

# COMMAND ----------

# MAGIC %md
# MAGIC 実行がログに記録したモデルを読み込んで使用することもできます。`runs:/<run_id>/model` は、実行が `model` としてログに記録したモデルを指します。`mlflow.spark.load_model` は (`log_model` と同じく `dfs_tmpdir` を使用して)、特徴量の作成を含む Spark の `PipelineModel` を返します。最新の実行のモデルで、テスト セットの 3 件の乗車の料金を予測してみましょう。

# COMMAND ----------

# DBTITLE 1,モデルを読み込んで予測する
loaded_model = mlflow.spark.load_model(f"runs:/{last_run.info.run_id}/model", dfs_tmpdir=model_dfs_tmpdir)
top_rows = test_df.limit(3)
display(loaded_model.transform(top_rows).select(*feature_columns, label_column, "prediction"))

# COMMAND ----------

# MAGIC %md
# MAGIC ## クリーンアップ
# MAGIC
# MAGIC 実行は次の演習のために実験に残しておきます。コースを終えたら、**[実験]** ページから実験を削除し、このラボのためにクラスターを起動した場合は **[コンピューティング]** ページでそのクラスターを終了します (サーバーレス コンピューティングは自動的に停止します)。サーバーレス コンピューティングと標準アクセス モードでは、*パラメーター* セルが表示したボリュームも作成しています。不要になったら **[カタログ]** で削除します。

# COMMAND ----------

# MAGIC %md
# MAGIC ## さらに詳しく
# MAGIC
# MAGIC ### 分割が R² に与える影響と、scikit-learn 版のノートブックの数値
# MAGIC
# MAGIC scikit-learn 版のノートブックを既定の実験で実行した場合、次のセルはその最新の最小二乗法の実行を実行 1 と並べて表示します。両者は、次の 2 つの理由で異なるはずです。
# MAGIC - **テスト セットの乗車が異なる。** `randomSplit` は、各行をテスト セットに入れるかどうかを行ごとに個別に決めるので、テスト セットには乗車の約 30% が入ります。一方、scikit-learn の `train_test_split` はちょうど 30% を取り出します。同じシード 97 を使っても、2 つのライブラリは異なる乗車を選びます。また、分割は Spark がデータをどのようにパーティション分割するかにも依存します。
# MAGIC - **ソルバーが異なる。** scikit-learn の `LinearRegression` は常に最小二乗法の当てはめを計算しますが、Spark の実行 1 は、閉形式が失敗したため `max_iter` 回の反復で停止しました。
# MAGIC
# MAGIC その次のセルは、100 回の反復を許可して、このノートブックの分割と、別のシードで作った 2 つの分割で、もう一度最小二乗法を当てはめます。これらの当てはめはログに記録しません。

# COMMAND ----------

# DBTITLE 1,scikit-learn 版のノートブックの最小二乗法の実行
sklearn_experiment = mlflow.get_experiment_by_name(default_experiment_name())
sklearn_runs = []
if sklearn_experiment is not None:
    sklearn_runs = mlflow.MlflowClient().search_runs(
        [sklearn_experiment.experiment_id], filter_string="params.reg_param = '0.0'",
        order_by=["attributes.start_time DESC"], max_results=1,
    )
if sklearn_runs:
    sklearn_metrics = sklearn_runs[0].data.metrics
    print(f"Least squares, scikit-learn notebook: R2 {sklearn_metrics['r2']:.4f}, RMSE {sklearn_metrics['rmse']:.4f}")
else:
    print(f"No least-squares run in {default_experiment_name()}: run the scikit-learn notebook to compare")
print(f"Least squares, this notebook (run 1): R2 {run_1['r2']:.4f}, RMSE {run_1['rmse']:.4f}")

# COMMAND ----------

# DBTITLE 1,3 つの分割で最小二乗法を収束まで当てはめる
r2_evaluator = RegressionEvaluator(labelCol=label_column, predictionCol="prediction", metricName="r2")
for seed in [97, 1, 2]:
    seed_train, seed_test = trips_clean.randomSplit([0.7, 0.3], seed=seed)
    seed_featurizer = featurizer.fit(seed_train)
    least_squares = LinearRegression(featuresCol="features", labelCol=label_column, maxIter=100)
    least_squares_model = least_squares.fit(seed_featurizer.transform(seed_train))
    seed_r2 = r2_evaluator.evaluate(least_squares_model.transform(seed_featurizer.transform(seed_test)))
    print(f"seed {seed:>2}: {seed_test.count():,} test trips, R2 {seed_r2:.4f} "
          f"after {least_squares_model.summary.totalIterations} iterations")

# COMMAND ----------

# MAGIC %md
# MAGIC 同じモデルと同じデータでも、R² は、分割でたまたまテスト セットに選ばれた乗車によって変わります。数千件の乗車のテスト セットでは、モデルが大きく外す非常に高額な乗車が数件あるだけで、大きく影響します。そのため、ここでのように 1 つの実験の実行は 1 つの分割を共有します。また、2 つのノートブックの数値のように、異なる 2 つの分割から得た数値は大まかにしか比較できません。ライブラリ自体の結果は一致します。トレーニング セットの同じ乗車に当てはめると、scikit-learn の `LinearRegression` と、収束するまで反復させた Spark の最小二乗法は、実質的に同じ予測をします (このノートブックの分割で Spark 4.0 を使って確認しました。RMSE、MAE、R² は小数点以下 4 桁まで同じです)。
# MAGIC
# MAGIC ### 組み込み関数が UDF より優れている理由
# MAGIC
# MAGIC 特徴量の作成では、コースにあったこのラボの最初のバージョンのように Python のユーザー定義関数 (UDF) を使うのではなく、Spark の **組み込みの列関数** で正弦と余弦を計算します。Python UDF は Python のワーカー プロセスで実行されるため、Spark は行をシリアル化して JVM から Python に送り、結果を送り返す必要があります。組み込み関数は Spark の JVM 内で実行され、クエリ オプティマイザーがそれらを認識して、クエリの残りの部分と一緒にコンパイルします。UDF は、組み込み関数で処理できない場合にだけ使用してください。

# COMMAND ----------

# MAGIC %md
# MAGIC 最後の 2 つのセルはジョブ用です。このノートブックを実行するジョブに、このセッションの 3 つの実行を返します。

# COMMAND ----------

# MAGIC %run ./includes/job_summary

# COMMAND ----------

# DBTITLE 1,ジョブに概要を返す
# When a job runs this notebook (deploy.py run --runtime, the bundle's lab_matrix job), this summary is the
# task's output: the library versions of this runtime and the three runs above with their metrics.
dbutils.notebook.exit(lab_summary([run_1["run_id"], run_2["run_id"], run_3["run_id"]]))
